"""deepcompress_np: Deep Compression (Han, Mao and Dally, ICLR 2016) from scratch in NumPy."""

__version__ = "0.1.0"
