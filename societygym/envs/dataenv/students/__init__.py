"""Students a teaching env trains: Hugging Face causal LMs (LoRA or full fine-tune)."""

from societygym.envs.dataenv.students.base import Student
from societygym.envs.dataenv.students.hf import FINETUNE_MODES, HFStudent, resolve_model_dir

__all__ = ["FINETUNE_MODES", "HFStudent", "Student", "resolve_model_dir"]
