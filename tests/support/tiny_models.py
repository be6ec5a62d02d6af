"""Seeded builders of tiny local models (random weights, locally trained tokenizers; no downloads).

- `build_tiny_gpt2(folder, chat=False)`: a GPT-2-shaped causal LM with a byte-level BPE tokenizer
  trained here on Swahili, Yoruba and Amharic sentences; `chat=True` adds a chat template.
- `build_tiny_judge(folder, examples)`: a tiny GPT-2 trained (seconds, on CPU) to answer judge
  prompts with the grade JSON it is shown: a local judge whose outputs really parse.
- `train_tiny_gpt2(folder, examples, steps=N)`: the same training for answers to items; N steps
  make a better or worse model (`scripts/make_seed_results.py` builds the demo's two).
- `build_tiny_wav2vec2(folder)`: a wav2vec2 CTC model with a character vocabulary.

Pytest fixtures (session scoped, built once per run) live in `tests/support/evaluate_fixtures.py`.
The same seeds give byte-identical files.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path

WORDS = {
    "sw": "habari mahindi mvua shamba maji daktari homa kliniki mama mtoto chakula soko mbegu "
          "hupandwa lini nifanye nini kunywa mengi asubuhi jioni kijiji barabara".split(),
    "yo": "àgbàdo òjò omi dókítà ibà ìgbà gbin oko ọjà ọmọ ìyá oúnjẹ irúgbìn àgbẹ̀ "
          "káàárọ̀ púpọ̀ dáadáa báyìí lọ rí mu ṣe".split(),
    "am": "በቆሎ ዝናብ ውሃ ሐኪም ትኩሳት እርሻ ገበያ ልጅ እናት ምግብ ዘር መቼ ምን እንደምን "
          "አደራችሁ ብዙ ጠጣ ይዘራል መጀመሪያ".split(),
}

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def corpus(n: int = 1500, seed: int = 0) -> list[str]:
    """Seeded random sentences in three languages (for training the tokenizer)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = WORDS[("sw", "yo", "am")[i % 3]]
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) + rng.choice(".?!"))
    return out


@functools.cache
def _bpe_json(vocab_size: int, seed: int, extra: tuple[str, ...] = ()) -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|pad|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(seed=seed) + list(extra), trainer=trainer)
    return tok.to_str()


def train_tokenizer(vocab_size: int = 800, seed: int = 0, extra: tuple[str, ...] = ()):
    """A byte-level BPE tokenizer trained on `corpus()` (and `extra` texts), wrapped for transformers."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_bpe_json(vocab_size, seed, tuple(extra))), eos_token="<|endoftext|>", bos_token="<|endoftext|>",
        pad_token="<|pad|>", model_max_length=1024,
    )


def build_tiny_gpt2(
    folder: str | Path,
    *,
    chat: bool = False,
    n_embd: int = 32,
    n_layer: int = 2,
    n_head: int = 2,
    vocab_size: int = 800,
    seed: int = 0,
) -> Path:
    """Save a random-weight GPT-2 causal LM and its tokenizer into `folder` and return it."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = Path(folder)
    tokenizer = train_tokenizer(vocab_size, seed)
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=2048, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        # larger initial weights give peaked next-token distributions: greedy text is stable
        # across batch sizes and paddings instead of hinging on near ties
        initializer_range=0.5,
    )
    model = GPT2LMHeadModel(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_judge(
    folder: str | Path,
    examples: list[tuple[str, str]],
    *,
    steps: int = 300,
    n_embd: int = 64,
    n_layer: int = 2,
    n_head: int = 4,
    vocab_size: int = 1500,
    lr: float = 1e-2,
    pieces: list[str] | None = None,
    seed: int = 0,
) -> Path:
    """Train a tiny GPT-2 (no chat template) to answer each prompt with its completion, and save it.

    `examples` are (prompt, completion) pairs, e.g. judge prompts and the JSON grade a judge
    should write. The loss covers the completion and the end-of-text token only; prompt and
    completion are tokenised apart, as a backend tokenises a prompt and then generates. A few
    hundred steps on CPU (seconds) make greedy decoding reproduce the completions: a local judge
    that really writes the JSON it is asked for. `pieces` become whole tokens of the vocabulary
    (e.g. `{"usefulness": 3, `), so a completion is a short chain each of whose tokens names the
    next, which a model this small learns in a few dozen steps. Seeded: the same inputs give the
    same model.
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = Path(folder)
    tokenizer = train_tokenizer(vocab_size, seed, extra=tuple(p + c for p, c in examples))
    if pieces:
        tokenizer.add_tokens(list(pieces))
    torch.manual_seed(seed)
    rows = []
    for prompt, completion in examples:
        p_ids = tokenizer(prompt)["input_ids"]
        c_ids = tokenizer(completion)["input_ids"] + [tokenizer.eos_token_id]
        rows.append((p_ids + c_ids, [-100] * len(p_ids) + c_ids))
    longest = max(len(ids) for ids, _ in rows)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=max(1024, longest + 300), n_embd=n_embd, n_layer=n_layer,
        n_head=n_head, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=lr)
    rng = random.Random(seed)
    batch = min(4, len(rows))
    for _ in range(steps):
        chosen = rng.sample(rows, batch)
        width = max(len(ids) for ids, _ in chosen)
        # right padding: positions of real tokens stay those of an unpadded prompt
        input_ids = torch.tensor([ids + [tokenizer.pad_token_id] * (width - len(ids)) for ids, _ in chosen])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in chosen])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in chosen])
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def train_tiny_gpt2(
    folder: str | Path,
    examples: list[tuple[str, str]],
    *,
    steps: int,
    seed: int = 0,
    lr: float = 3e-3,
) -> Path:
    """A tiny GPT-2 trained for `steps` to answer each prompt with its reference, saved to `folder`.

    The same training as `build_tiny_judge` (a judge is only a model taught its completions):
    with the same examples and seed, fewer steps give an earlier checkpoint of the same run, so
    two models that differ only in how long they trained answer visibly worse and better. A
    lower learning rate than the judge's keeps the early checkpoint from already knowing it all.
    """
    return build_tiny_judge(folder, examples, steps=steps, seed=seed, lr=lr)


def build_tiny_wav2vec2(folder: str | Path, *, seed: int = 0) -> Path:
    """Save a random-weight wav2vec2 CTC model with a character vocabulary into `folder`."""
    import torch
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for ws in WORDS.values() for w in ws for c in w})
    vocab = {"<pad>": 0, "<unk>": 1, "|": 2}
    for c in chars:
        vocab.setdefault(c, len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(
        str(folder / "vocab.json"), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
        return_attention_mask=True,
    )
    torch.manual_seed(seed)
    config = Wav2Vec2Config(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, conv_dim=(16, 16, 16), conv_stride=(5, 4, 4), conv_kernel=(10, 8, 8),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, pad_token_id=0,
        feat_extract_norm="layer", do_stable_layer_norm=True, initializer_range=0.5,
    )
    model = Wav2Vec2ForCTC(config).eval()
    model.save_pretrained(folder)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder
