"""The diffusion engine: Wan2.1 VACE through diffusers, from weights in a local folder."""
