"""Pretrained multilingual encoders and their tokenizers."""
