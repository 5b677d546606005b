# Stand-in for the safetensors wheel (not packaged by Debian 12): a read-only reader of the format, enough for
# transformers' from_pretrained (safe_open for the metadata, safetensors.torch.load_file for the tensors).
# It parses the 8-byte header length and the JSON header and rejects what it cannot read; it never writes.
import json
import struct

__version__ = "0.4.5"


def read_header(path):
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path}: too short for a safetensors header")
        (length,) = struct.unpack("<Q", raw)
        if length > 100_000_000:
            raise ValueError(f"{path}: a header of {length} bytes is not plausible")
        header = json.loads(f.read(length))
    return header, 8 + length


class safe_open:
    def __init__(self, path, framework="pt", device="cpu"):
        if framework not in ("pt", "torch"):
            raise ValueError(f"safetensors stand-in: framework {framework!r} is not supported")
        self.path = str(path)
        self.header, self.base = read_header(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False

    def metadata(self):
        return self.header.get("__metadata__", {})

    def keys(self):
        return [k for k in self.header if k != "__metadata__"]

    def get_tensor(self, name):
        from .torch import _tensor

        return _tensor(self.path, self.base, self.header[name], name)


def _unsupported(*args, **kwargs):
    raise NotImplementedError("safetensors stand-in: only reading files is supported")


save_file = save = _unsupported
