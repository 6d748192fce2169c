"""Argparse registration and thin handlers, one module per group of commands."""
