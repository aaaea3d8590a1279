"""The LLM server under load and abuse, with the tiny model on loopback: many clients decode
together, every abuse case is answered 4xx within a second while normal requests are served,
a client that leaves stops its generation, keys are checked, and shutdown finishes its work."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from societygym.llm import OpenAICompatibleLLM, TransformersLLM
from societygym.llm.server import LLMServer
from societygym.llm.server_schema import Limits
from societygym.llm.tiny import build_tiny_llm_dir

CHAT = [{"role": "user", "content": "What is the capital of France?"}]
LIMITS = Limits(max_tokens=4000, max_n=4, max_prompt_tokens=256, max_body_bytes=64 * 1024)


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    return TransformersLLM(build_tiny_llm_dir(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def server(llm):
    server = LLMServer(llm, "127.0.0.1", 0, limits=LIMITS, slots=64)
    server.start()
    yield server
    server.shutdown()
    server.server_close()


def post(url, body, headers=None, timeout=60):
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data, {"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def status_of(url, body, headers=None):
    try:
        post(url, body, headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())["error"]["message"]
    return 200, ""


def raw(server, request: bytes, timeout=5.0) -> str:
    """Send ``request`` bytes as they are; the server's answer, as text."""
    host, port = server.address
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode(errors="replace")


def health(server):
    with urllib.request.urlopen(server.url.removesuffix("/v1") + "/health", timeout=10) as r:
        return json.load(r)


def test_fifty_concurrent_clients_all_get_answers_decoded_together(server, llm):
    expected = llm.generate([CHAT], max_tokens=8)[0][0]
    body = {"messages": CHAT, "max_tokens": 8, "temperature": 0}
    with ThreadPoolExecutor(50) as pool:
        replies = list(pool.map(lambda _: post(server.url + "/chat/completions", body), range(50)))
    texts = [r["choices"][0]["message"]["content"] for r in replies]
    assert texts == [expected.text] * 50  # batching with other clients changes no greedy answer
    # Rows of different clients were in one batch, not served one request at a time.
    assert health(server)["peak_batch"] > 1


def test_different_settings_decode_concurrently_and_match_direct_calls(server, llm):
    greedy = {"prompt": "Q: What is 3 + 4? A:", "max_tokens": 9, "temperature": 0, "n": 2}
    short = {"prompt": "The cat sees", "max_tokens": 4, "temperature": 0, "stop": ["e"]}
    seeded = {"prompt": "The cat sees", "max_tokens": 6, "temperature": 1.0, "seed": 3, "n": 2}
    sampled = {"prompt": "hello", "max_tokens": 5, "temperature": 0.8, "n": 3}
    expected = [
        llm.generate([greedy["prompt"]], max_tokens=9, n=2)[0],
        llm.generate([short["prompt"]], max_tokens=4, stop=["e"])[0],
        llm.generate([seeded["prompt"]], max_tokens=6, temperature=1.0, seed=3, n=2)[0],
    ]
    with ThreadPoolExecutor(4) as pool:
        replies = list(
            pool.map(
                lambda b: post(server.url + "/completions", b), [greedy, short, seeded, sampled]
            )
        )
    for reply, gens in zip(replies, expected, strict=False):
        got = [(c["text"], c["finish_reason"]) for c in reply["choices"]]
        assert got == [(g.text, g.finish_reason) for g in gens]
    assert len(replies[3]["choices"]) == 3
    assert 0 < replies[3]["usage"]["completion_tokens"] <= 15


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": CHAT, "max_tokens": 1_000_000_000}, "'max_tokens' must be between"),
        ({"messages": CHAT, "n": 1_000_000}, "'n' must be between"),
        ({"messages": [{"role": "user", "content": "cat " * 2000}]}, "over the limit of 256"),
        ({"prompt": ["hi"] * 1000}, "over the limit of 64"),
        ({"messages": [{"role": "user", "content": "x" * 100_000}]}, "body over 65536 bytes"),
    ],
)
def test_abuse_is_refused_at_once_while_normal_requests_are_served(server, body, message):
    path = "/completions" if "prompt" in body else "/chat/completions"
    with ThreadPoolExecutor(1) as pool:  # a normal request decoding all along
        normal = pool.submit(
            post, server.url + "/chat/completions", {"messages": CHAT, "max_tokens": 64}
        )
        start = time.perf_counter()
        status, error = status_of(server.url + path, body)
        assert time.perf_counter() - start < 1
        assert status in (400, 413)
        assert message in error
        assert normal.result()["choices"][0]["message"]["content"] is not None


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("Content-Length: abc\r\n", "400"),
        ("Content-Length: -1\r\n", "400"),
        ("Content-Length: 15000000\r\n", "413"),  # a 15 MB prompt, refused before it is sent
        ("Content-Length: 5\r\n", "400"),  # "{bad}" is not JSON
    ],
)
def test_malformed_and_oversized_headers_get_4xx_within_a_second(server, headers, status):
    start = time.perf_counter()
    answer = raw(
        server,
        f"POST /v1/completions HTTP/1.1\r\nHost: x\r\n{headers}"
        "Content-Type: application/json\r\n\r\n{bad}".encode(),
    )
    assert time.perf_counter() - start < 1
    assert answer.split()[1] == status


def test_a_client_that_stops_sending_its_body_gets_408(llm):
    limits = Limits(body_timeout_s=0.3)
    server = LLMServer(llm, "127.0.0.1", 0, limits=limits)
    server.start()
    try:
        request = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
        assert raw(server, request).split()[1] == "408"
    finally:
        server.shutdown()
        server.server_close()


def test_a_disconnected_client_stops_its_generation(server, llm):
    before = llm.usage.completion_tokens
    host, port = server.address
    body = json.dumps({"prompt": "The cat sees", "max_tokens": 4000, "temperature": 0}).encode()
    sock = socket.create_connection((host, port))
    sock.sendall(
        b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    deadline = time.monotonic() + 30
    while health(server)["waiting_rows"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sock.close()
    deadline = time.monotonic() + 5
    while health(server)["waiting_rows"]:
        assert time.monotonic() < deadline, "the row kept decoding after its client left"
        time.sleep(0.05)
    # Its decoded tokens are counted when its row leaves the batch: far fewer than asked for.
    assert 0 < llm.usage.completion_tokens - before < 4000


def test_api_key_is_required_when_set_but_not_for_health(llm):
    server = LLMServer(llm, "127.0.0.1", 0, api_key="s3cret")
    server.start()
    try:
        body = {"prompt": "hi", "max_tokens": 2}
        assert status_of(server.url + "/completions", body)[0] == 401
        wrong = {"Authorization": "Bearer nope"}
        assert status_of(server.url + "/completions", body, wrong)[0] == 401
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(server.url + "/models", timeout=10)
        assert health(server)["status"] == "ok"
        client = OpenAICompatibleLLM("tiny", server.url, api_key="s3cret", max_retries=0)
        [[gen]] = client.generate(["hi"], max_tokens=2)
        assert gen.completion_tokens > 0
    finally:
        server.shutdown()
        server.server_close()


def test_shutdown_finishes_the_requests_in_hand(llm):
    server = LLMServer(llm, "127.0.0.1", 0)
    server.start()
    body = {"prompt": "The cat sees", "max_tokens": 48, "temperature": 0}
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(post(server.url + "/completions", body)))
    thread.start()
    deadline = time.monotonic() + 30
    while health(server)["waiting_rows"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    server.shutdown()
    thread.join(30)
    assert result["choices"][0]["finish_reason"] == "length"
    assert result["usage"]["completion_tokens"] == 48
    with pytest.raises(urllib.error.URLError):
        post(server.url + "/completions", body, timeout=5)
    server.server_close()
