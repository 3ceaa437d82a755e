"""Search: keyframes of each shot, their embeddings (scene search) and tags."""
