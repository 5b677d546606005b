#!/usr/bin/python3
"""Checks that Hugging Face transformers loads a Tastemaker model folder and computes what tastemaker does.

Not part of the build or the tests (see tools/hf-compare/README.md for the set-up). For a model folder:
1. `MusicgenForConditionalGeneration.from_pretrained(DIR, output_loading_info=True)`: every tensor of the file is
   used and none is missing (the decoder's sinusoidal position table is computed, not stored, in both);
2. `T5Tokenizer.from_pretrained(DIR)` tokenizes the prompt;
3. greedy decoding with classifier-free guidance, in float32, by transformers' `generate()` and by
   `tastemaker-cli generate --greedy`: the codes of every frame and codebook are compared;
4. EnCodec encoding of a WAV file by transformers' `audio_encoder.encode()` and by `tastemaker-cli encode`.

Prints one JSON line with the counts and exits 1 if any check fails.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import wave

import torch
import transformers.tokenization_utils_base as tokenization_base
from transformers import MusicgenForConditionalGeneration, T5Tokenizer

# Without the tokenizers wheel, transformers falls back to its own AddedToken dataclass, which is unhashable
# (eq=True) and has no __setstate__, and then fails on any slow tokenizer with added tokens. Give it the two, as
# tokenizers' AddedToken has them: hashed by its text, its flags set from a dict.
if tokenization_base.AddedToken.__hash__ is None:
    tokenization_base.AddedToken.__hash__ = lambda token: hash(token.content)
if not hasattr(tokenization_base.AddedToken, "__setstate__"):
    tokenization_base.AddedToken.__setstate__ = lambda token, state: token.__dict__.update(state)


def read_npy_int64(path):
    """The int64 .npy files tastemaker writes (version 1 or 2 header, C order)."""
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise ValueError(f"{path}: not an .npy file")
        major = f.read(2)[0]
        (length,) = struct.unpack("<H" if major == 1 else "<I", f.read(2 if major == 1 else 4))
        header = f.read(length).decode("latin1")
        if "'<i8'" not in header or "'fortran_order': False" not in header:
            raise ValueError(f"{path}: expected little-endian int64 in C order, got {header.strip()}")
        shape = tuple(int(n) for n in header.split("'shape': (")[1].split(")")[0].split(",") if n.strip())
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=torch.int64).reshape(shape).clone()


def read_wav_s16_mono(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM")
        frames = w.readframes(w.getnframes())
        rate, channels = w.getframerate(), w.getnchannels()
    audio = torch.frombuffer(bytearray(frames), dtype=torch.int16).float() / 32768.0
    return audio.reshape(-1, channels).mean(dim=1), rate


def compare_codes(result, name, hf, ours):
    """Records the shapes and the agreement of two code tensors under `name`; returns the share equal (0 when
    the shapes differ)."""
    result[name + "_shape"] = {"hf": list(hf.shape), "ours": list(ours.shape)}
    if hf.shape != ours.shape:
        return 0.0
    equal = hf == ours
    result[name + "_codes_equal"] = int(equal.sum())
    result[name + "_codes"] = equal.numel()
    mismatch = (~equal).nonzero()
    result[name + "_first_mismatch_frame"] = int(mismatch[:, -1].min()) if len(mismatch) else None
    return equal.float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a MusicGen folder (models/demo)")
    parser.add_argument("--cli", default=os.environ.get("CLI", "build/app/tastemaker-cli"))
    parser.add_argument("--prompt", default="Jazz, piano, double bass, slow, sad")
    parser.add_argument("--frames", type=int, default=100, help="audio frames to decode greedily (50 per second)")
    parser.add_argument("--cfg", type=float, default=3.0)
    parser.add_argument("--wav", help="a 16-bit WAV at the codec's rate to encode (default: the greedy clip)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {"model": args.model, "torch": torch.__version__}

    model, info = MusicgenForConditionalGeneration.from_pretrained(args.model, output_loading_info=True)
    model = model.float().eval()
    result["missing_keys"] = sorted(info["missing_keys"])
    result["unexpected_keys"] = sorted(info["unexpected_keys"])
    result["mismatched_keys"] = [str(k) for k in info["mismatched_keys"]]
    ok = not result["unexpected_keys"] and not result["mismatched_keys"] and all(
        "embed_positions" in k for k in result["missing_keys"])

    tokenizer = T5Tokenizer.from_pretrained(args.model)
    inputs = tokenizer([args.prompt], return_tensors="pt")
    result["prompt_ids"] = inputs["input_ids"][0].tolist()

    captured = {}
    decode = model.audio_encoder.decode

    def capture(codes, *rest, **kwargs):
        captured["codes"] = codes
        return decode(codes, *rest, **kwargs)

    model.audio_encoder.decode = capture
    steps = args.frames + model.decoder.num_codebooks - 1
    with torch.inference_mode():
        model.generate(**inputs, do_sample=False, guidance_scale=args.cfg, max_new_tokens=steps)
    hf_codes = captured["codes"][0]  # [B, K, T]

    with tempfile.TemporaryDirectory() as tmp:
        ours_npy = os.path.join(tmp, "greedy.npy")
        clip = os.path.join(tmp, "greedy.wav")
        subprocess.run([args.cli, "generate", "--model", args.model, "--prompt", args.prompt, "--greedy",
                        "--cfg", str(args.cfg), "--frames", str(args.frames), "--codes-out", ours_npy, "--out", clip],
                       check=True, capture_output=True)
        ok = compare_codes(result, "greedy", hf_codes, read_npy_int64(ours_npy)) == 1.0 and ok

        wav = args.wav or clip
        audio, rate = read_wav_s16_mono(wav)
        if rate != model.config.audio_encoder.sampling_rate:
            raise SystemExit(f"{wav}: {rate} Hz, but the codec runs at {model.config.audio_encoder.sampling_rate}")
        with torch.inference_mode():
            hf_enc = model.audio_encoder.encode(audio[None, None, :]).audio_codes[0]  # [B, K, T]
        ours_enc_npy = os.path.join(tmp, "encoded.npy")
        subprocess.run([args.cli, "encode", "--model", args.model, "--in", wav, "--codes-out", ours_enc_npy],
                       check=True, capture_output=True)
        ok = compare_codes(result, "encode", hf_enc, read_npy_int64(ours_enc_npy)) >= 0.99 and ok

    result["ok"] = ok
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
