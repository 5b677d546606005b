# Stand-in for the tokenizers wheel (not packaged by Debian 12). transformers' GGUF integration imports these
# names at module level; the benchmark passes token ids and never tokenizes. No dist-info is installed, so
# transformers itself reports tokenizers as unavailable.
import sys, types
class _Missing:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("tokenizers stand-in")
def __getattr__(name):
    return _Missing
for _name in ("models", "decoders", "normalizers", "pre_tokenizers", "processors", "trainers"):
    _module = types.ModuleType(__name__ + "." + _name)
    _module.__getattr__ = lambda name: _Missing
    sys.modules[__name__ + "." + _name] = _module
    globals()[_name] = _module
