"""Training: the paper's recipe (docs/architecture.md, "Training"), exact resume, DDP."""
