"""The VQA teaching domain.

- ``scenes``: the procedural scene model, renderer, description parser and exact answers
  (a stable API other envs draw with);
- ``domain``: ``VQADomain`` (easy-VQA + procedural splits, grading, the env hooks);
- ``easy_vqa_data``, ``gqa``: the real evaluation data;
- ``text_to_image``: description -> image backends (procedural, diffusers);
- ``images``: arrays, PNG data URIs, pixel digests.
"""
