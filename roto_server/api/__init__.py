"""Protocol adapters: each turns its wire format into store operations and back."""
