"""Training: the paper's recipe (DESIGN.md section 6), exact resume, DDP."""
