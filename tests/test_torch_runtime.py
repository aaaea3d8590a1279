"""Attention kernels for our forward passes (timed on an H200 by benchmarks/gpu_check.py)."""

import torch

from societygym.llm.torch_runtime import attention_kernels


def test_attention_kernels_leave_out_cudnn_and_restore_the_choice():
    assert torch.backends.cuda.cudnn_sdp_enabled()  # torch's default
    with attention_kernels():
        assert not torch.backends.cuda.cudnn_sdp_enabled()
        assert torch.backends.cuda.flash_sdp_enabled()
        assert torch.backends.cuda.mem_efficient_sdp_enabled()
        assert torch.backends.cuda.math_sdp_enabled()
        q = torch.randn(1, 2, 3, 4)
        out = torch.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)
        assert out.shape == q.shape  # the CPU still finds a kernel
    assert torch.backends.cuda.cudnn_sdp_enabled()
