"""Students a teaching env trains: Hugging Face causal LMs (LoRA or full fine-tune), and for
the VQA domain a small CNN (CPU default) or a vision-language model (LoRA, GPU)."""

from societygym.envs.dataenv.students.base import Student
from societygym.envs.dataenv.students.hf import FINETUNE_MODES, HFStudent, resolve_model_dir
from societygym.envs.dataenv.students.vlm import VLMStudent
from societygym.envs.dataenv.students.vqa_cnn import VQACNNStudent

__all__ = [
    "FINETUNE_MODES",
    "HFStudent",
    "Student",
    "VLMStudent",
    "VQACNNStudent",
    "resolve_model_dir",
]
