#!/usr/bin/python3
"""Times Hugging Face transformers' MusicgenForConditionalGeneration.generate() alone, for docs/performance.md.

Not part of the build or the tests. It needs Debian's python3-torch and a transformers source tree on
PYTHONPATH (see tools/hf-compare/README.md). The model is made from a config with random weights, as
`tastemaker-cli bench generate --config` makes its own, so no weights are read: the time of a decoding step
does not depend on the values of the weights.

Prints one JSON line: the seconds generate() took (T5, every decoding step with CFG, and EnCodec's decode),
the number of decoder steps and the per-step milliseconds that implies.
"""
import argparse
import json
import time

import torch
from transformers import MusicgenConfig, MusicgenForConditionalGeneration


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a MusicGen config.json (models/musicgen-small-config.json)")
    parser.add_argument("--dtype", choices=["f32", "bf16"], default="f32",
                        help="T5, the projection and the decoder; EnCodec stays float32 (as tastemaker does)")
    parser.add_argument("--frames", type=int, default=100, help="audio frames (50 per second)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.config) as f:
        config = MusicgenConfig.from_dict(json.load(f))
    model = MusicgenForConditionalGeneration(config).eval()
    if args.dtype == "bf16":
        for part in (model.text_encoder, model.enc_to_dec_proj, model.decoder):
            part.to(torch.bfloat16)

    # The ids of a 12-piece prompt and </s>; their values do not change the work.
    input_ids = torch.tensor([[71, 1710, 3, 6, 2139, 5507, 6, 8, 10393, 6, 3, 5, 1]])
    attention_mask = torch.ones_like(input_ids)
    steps = args.frames + config.decoder.num_codebooks - 1  # the delay pattern adds K - 1 steps
    sampling = dict(do_sample=True, top_k=250, guidance_scale=3.0)
    with torch.inference_mode():
        model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=4, **sampling)  # warm-up
        start = time.perf_counter()
        audio = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=steps, **sampling)
        seconds = time.perf_counter() - start
    print(json.dumps({"dtype": args.dtype, "frames": args.frames, "steps": steps, "generate_s": round(seconds, 3),
                      "ms_per_step": round(1000 * seconds / steps, 1), "audio_samples": int(audio.shape[-1]),
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
