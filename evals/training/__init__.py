"""Training scripts for the learned components (`make train`); they may import torch, the bot never does."""
