# Stand-in for the safetensors wheel (not packaged by Debian 12): the benchmark builds random weights from a
# config and never reads or writes a .safetensors file, so only the names transformers imports are needed.
__version__ = "0.4.5"
def safe_open(*args, **kwargs):
    raise NotImplementedError("safetensors stand-in: reading files is not supported")
