"""Training loops: fine-tuning the joint model (distillation comes later)."""
