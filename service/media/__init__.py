"""Uploaded images: checked and cleaned with Pillow, stored under content-addressed names."""
