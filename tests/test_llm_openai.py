"""The OpenAI-compatible client against our real server on loopback, and its error paths."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from societygym.llm import (
    OpenAICompatibleLLM,
    OpenAIError,
    ScoringNotSupportedError,
    TransformersLLM,
)
from societygym.llm.server import LLMServer
from societygym.llm.tiny import build_tiny_llm_dir

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [
    "The cat sees",
    [{"role": "user", "content": "What is the capital of France?"}],
    "Q: What is 3 + 4? A:",
]


@pytest.fixture(scope="module")
def direct(tmp_path_factory):
    return TransformersLLM(build_tiny_llm_dir(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def server(direct):
    server = LLMServer(direct, "127.0.0.1", 0)
    server.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(server):
    return OpenAICompatibleLLM("tiny", server.url, max_retries=1, timeout=30)


def post(url, body):
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_greedy_text_and_usage_match_the_direct_backend(direct, client):
    expected = direct.generate(PROMPTS, max_tokens=12)
    got = client.generate(PROMPTS, max_tokens=12)
    for exp, [gen] in zip(expected, got, strict=True):
        assert (gen.text, gen.finish_reason) == (exp[0].text, exp[0].finish_reason)
        assert (gen.prompt_tokens, gen.completion_tokens) == (
            exp[0].prompt_tokens,
            exp[0].completion_tokens,
        )
    assert client.usage.calls == 3
    assert client.usage.completion_tokens == sum(g[0].completion_tokens for g in expected)


def test_sampling_params_pass_through(direct, client):
    kwargs = {"n": 3, "temperature": 1.0, "top_p": 0.9, "max_tokens": 8, "seed": 7}
    expected = direct.generate(PROMPTS[:1], **kwargs)[0]
    got = client.generate(PROMPTS[:1], **kwargs)[0]
    assert [g.text for g in got] == [g.text for g in expected]
    assert sum(g.completion_tokens for g in got) == sum(g.completion_tokens for g in expected)
    [[full]] = direct.generate(PROMPTS[:1], max_tokens=12, ignore_eos=True)
    stop = full.text[3:5]
    [[cut]] = client.generate(PROMPTS[:1], max_tokens=12, stop=[stop])
    assert (cut.text, cut.finish_reason) == (full.text[: full.text.find(stop)], "stop")


def test_scores_match_the_direct_backend(direct, client):
    conts = [[" a red circle", " yes"], ["The capital of France is Paris.", "No"], [" 7", " 8"]]
    expected = direct.score_batch(PROMPTS, conts)
    before = client.usage.snapshot()
    got = client.score_batch(PROMPTS, conts)
    for exp, row in zip(expected, got, strict=True):
        assert row == pytest.approx(exp, abs=1e-4)
    scored = sum(len(direct.encode(p)) * len(c) for p, c in zip(PROMPTS, conts, strict=True))
    scored += sum(len(direct.tokenizer(x).input_ids) for c in conts for x in c)
    assert client.usage.since(before) == {
        "calls": 3,
        "prompt_tokens": scored,
        "completion_tokens": 0,
    }
    assert client.score(PROMPTS[0], []) == []


def test_echo_logprobs_response_shape(server, direct):
    text = "The cat sees a red circle"
    reply = post(
        server.url + "/completions",
        {"prompt": text, "echo": True, "logprobs": 1, "max_tokens": 0},
    )
    [choice] = reply["choices"]
    lp = choice["logprobs"]
    assert choice["text"] == text
    assert "".join(lp["tokens"]) == text
    assert lp["token_logprobs"][0] is None
    assert len(lp["tokens"]) == len(lp["text_offset"]) == len(lp["token_logprobs"])
    assert reply["usage"]["prompt_tokens"] == len(lp["tokens"])
    # logprobs without echo: only the completion's tokens, at offsets past the prompt
    reply = post(
        server.url + "/completions",
        {"prompt": text, "logprobs": 1, "max_tokens": 4, "temperature": 0},
    )
    [choice] = reply["choices"]
    assert all(offset >= len(text) for offset in choice["logprobs"]["text_offset"])
    assert "".join(choice["logprobs"]["tokens"]) == choice["text"]


def test_models_and_apply_template(server, direct):
    with urllib.request.urlopen(server.url + "/models", timeout=30) as response:
        assert [m["id"] for m in json.load(response)["data"]] == [direct.name]
    root = server.url.removesuffix("/v1")
    rendered = post(root + "/apply-template", {"messages": PROMPTS[1]})["prompt"]
    assert rendered == direct.render(PROMPTS[1])


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/completions", {"prompt": [1, 2, 3]}, 400, "'prompt' must be"),
        ("/completions", {"prompt": "hi", "top_p": 5}, 400, "top_p"),
        ("/completions", {"prompt": "hi", "max_tokens": "ten"}, 400, "max_tokens"),
        ("/chat/completions", {"messages": "hi"}, 400, "'messages'"),
        ("/chat/completions", {"messages": PROMPTS[1], "stream": True}, 400, "streaming"),
        ("/nope", {}, 404, "no route"),
    ],
)
def test_server_rejects_bad_requests(server, path, body, status, message):
    with pytest.raises(urllib.error.HTTPError) as info:
        post(server.url + path, body)
    assert info.value.code == status
    assert message in json.loads(info.value.read())["error"]["message"]


def test_client_reports_the_servers_400_without_retrying(client):
    start = time.perf_counter()
    with pytest.raises(OpenAIError, match=r"HTTP 400.*top_p") as info:
        client.generate(["hi"], top_p=5.0)
    assert info.value.status == 400
    assert time.perf_counter() - start < 5


def test_unreachable_server_fails_clearly_after_retries():
    with socket.socket() as sock:  # a port that was just free: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = OpenAICompatibleLLM("m", f"http://127.0.0.1:{port}", max_retries=2)
    start = time.perf_counter()
    with pytest.raises(OpenAIError, match=r"could not reach .* after 3 attempts"):
        llm.generate(["hi"])
    assert time.perf_counter() - start < 5
    assert llm.usage.calls == 0


class Stub:
    """A scripted server: answers each request with the next (status, body) in ``script``."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                stub.requests.append((self.path, json.loads(self.rfile.read(length))))
                status, body = stub.script.pop(0)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    stubs = []
    yield lambda script: stubs.append(Stub(script)) or stubs[-1]
    for s in stubs:
        s.close()


OK_COMPLETION = {
    "choices": [{"index": 0, "text": " fine", "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
}


def test_client_retries_overload_then_succeeds(stub):
    busy = {"error": {"message": "overloaded"}}
    server = stub([(503, busy), (429, busy), (200, OK_COMPLETION)])
    llm = OpenAICompatibleLLM("m", server.url, api_key="k", max_retries=3)
    [[gen]] = llm.generate(["hi"], stop=["\n"], seed=1)
    assert (gen.text, gen.prompt_tokens, gen.completion_tokens) == (" fine", 3, 1)
    assert len(server.requests) == 3
    path, body = server.requests[-1]
    assert path == "/v1/completions"
    assert body == {
        "model": "m",
        "n": 1,
        "max_tokens": 64,
        "temperature": 0.0,
        "top_p": 1.0,
        "stop": ["\n"],
        "seed": 1,
        "prompt": "hi",
    }


def test_each_prompt_of_a_call_sends_its_own_seed(stub):
    server = stub([(200, OK_COMPLETION)] * 3)
    llm = OpenAICompatibleLLM("m", server.url, api_key="k")
    llm.generate(["a", "b", "c"], temperature=1.0, seed=[5, 6, 7])
    assert sorted((body["prompt"], body["seed"]) for _, body in server.requests) == [
        ("a", 5),
        ("b", 6),
        ("c", 7),
    ]
    with pytest.raises(ValueError, match="2 seeds for 3 prompts"):
        llm.generate(["a", "b", "c"], seed=[1, 2])


def test_scoring_against_a_server_without_echo_says_so(stub):
    server = stub([(400, {"message": "echo is not supported"}), (404, {"detail": "Not Found"})])
    llm = OpenAICompatibleLLM("m", server.url, max_retries=0)
    with pytest.raises(ScoringNotSupportedError, match="echo is not supported") as info:
        llm.score("Is it?", [" yes", " no"])
    assert isinstance(info.value, NotImplementedError)
    with pytest.raises(ScoringNotSupportedError, match="apply-template"):
        llm.score(PROMPTS[1], [" yes"])


def test_scoring_reply_without_logprobs_says_so(stub):
    server = stub([(200, OK_COMPLETION)])
    llm = OpenAICompatibleLLM("m", server.url, max_retries=0)
    with pytest.raises(ScoringNotSupportedError, match="text_offset"):
        llm.score("Is it?", [" yes"])


def test_server_command_line(tmp_path):
    env = {**os.environ, "SOCIETYGYM_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "societygym.llm.server", "--model", "tiny", "--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving tiny:0 at http://127.0.0.1:")
        llm = OpenAICompatibleLLM("tiny", line.split()[-1], max_retries=0)
        [[gen]] = llm.generate([PROMPTS[1]], max_tokens=3)
        assert gen.completion_tokens > 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_timeout_is_the_clients_own():
    """A server that answers after 3 s fails a client with a 0.3 s timeout at once."""
    answered = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self):
            answered.wait(3)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        llm = OpenAICompatibleLLM("m", url, timeout=0.3, max_retries=0)
        start = time.perf_counter()
        with pytest.raises(OpenAIError, match=r"could not reach .* after 1 attempts.*timed out"):
            llm.generate(["hi"])
        assert time.perf_counter() - start < 2
    finally:
        answered.set()
        server.shutdown()
        server.server_close()


def test_each_finished_request_moves_the_progress_callback():
    """The slow prompt's reply is held until the callback has heard of the fast one, so the
    callback must move per finished request, inside the batch, not once at its end."""
    from societygym import progress

    first_report = threading.Event()
    held_until_reported = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body["prompt"] == "slow":
                held_until_reported.append(first_report.wait(timeout=10))
            choices = [
                {"index": k, "text": " ok", "finish_reason": "stop"} for k in range(body["n"])
            ]
            data = json.dumps({"choices": choices, "usage": {}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    reports = []

    def on_generated(rows):
        reports.append(rows)
        first_report.set()

    try:
        llm = OpenAICompatibleLLM("m", f"http://127.0.0.1:{server.server_address[1]}")
        with progress.count_generations(on_generated):
            out = llm.generate(["slow", "fast"], n=2, temperature=1.0)
        with progress.count_generations(on_generated):
            llm.generate(["alone"])
    finally:
        server.shutdown()
        server.server_close()
    assert [len(gens) for gens in out] == [2, 2]
    assert held_until_reported == [True]
    assert reports == [2, 2, 1]  # n per finished request, then the single-prompt path
