# Read-only safetensors.torch for the stand-in (see __init__.py).
import torch

from . import read_header

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}


def _tensor(path, base, entry, name):
    dtype = _DTYPES.get(entry["dtype"])
    if dtype is None:
        raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}, which this reader does not know")
    start, end = entry["data_offsets"]
    with open(path, "rb") as f:
        f.seek(base + start)
        data = bytearray(f.read(end - start))
    count = 1
    for n in entry["shape"]:
        count *= n
    if count * torch.empty((), dtype=dtype).element_size() != len(data):
        raise ValueError(f"{path}: tensor {name} has {len(data)} bytes for shape {entry['shape']}")
    if count == 0:
        return torch.empty(entry["shape"], dtype=dtype)
    return torch.frombuffer(data, dtype=dtype).reshape(entry["shape"]).clone()


def load_file(path, device="cpu"):
    header, base = read_header(str(path))
    return {k: _tensor(str(path), base, v, k) for k, v in header.items() if k != "__metadata__"}


def _unsupported(*args, **kwargs):
    raise NotImplementedError("safetensors stand-in: only reading files is supported")


def storage_ptr(tensor):
    """The address of the tensor's storage (transformers uses it to find tied weights)."""
    return tensor.storage().data_ptr() if tensor.device.type == "cpu" or tensor.is_cuda else 0


def storage_size(tensor):
    return tensor.storage().nbytes()


save_file = load = save = _unsupported
