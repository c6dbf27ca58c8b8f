"""Normalising GPU names across providers.

Every provider spells GPUs its own way ("NVIDIA H100 80GB HBM3", "H100 SXM",
"gpu-h100", "gpu_1x_h100_sxm5").  The normalised form is ``<MODEL>-<MEM>GB[-<FORM>]``,
for example ``H100-80GB-SXM``, ``H100-80GB-PCIE``, ``A100-80GB``, ``RTX4090-24GB``.
Unknown names raise ``KeyError`` so a new GPU is noticed, never silently mislabelled.
"""

from __future__ import annotations

import re

# (pattern on a lower-cased, separator-free name, normalised class).  Order matters: first match wins.
_RULES: list[tuple[str, str]] = [
    (r"gb200", "GB200-186GB"),
    (r"b200", "B200-180GB"),
    (r"gh200", "GH200-96GB"),
    (r"h200", "H200-141GB"),
    (r"h100nvl", "H100-94GB-NVL"),
    (r"h100.*(pcie|pci)", "H100-80GB-PCIE"),
    (r"h100", "H100-80GB-SXM"),
    (r"a100.*(40g|40gb)", "A100-40GB"),
    (r"a100", "A100-80GB"),
    (r"l40s", "L40S-48GB"),
    (r"l40", "L40-48GB"),
    (r"l4\b|l4$|l4(?!0)", "L4-24GB"),
    (r"a10g", "A10G-24GB"),
    (r"a10(?!0)", "A10-24GB"),
    (r"a6000|rtxa6000", "RTXA6000-48GB"),
    (r"a5000|rtxa5000", "RTXA5000-24GB"),
    (r"a4500", "RTXA4500-20GB"),
    (r"a4000|rtxa4000", "RTXA4000-16GB"),
    (r"a40(?!\d)", "A40-48GB"),  # RunPod "A6000, A40" tier; Replicate gpu-a40-large / gpu-a40-small
    (r"6000ada|rtx6000ada", "RTX6000ADA-48GB"),
    (r"pro6000|rtxpro6000", "RTXPRO6000-96GB"),
    (r"4000ada", "RTX4000ADA-20GB"),
    (r"2000ada", "RTX2000ADA-16GB"),
    (r"5090", "RTX5090-32GB"),
    (r"4090", "RTX4090-24GB"),
    (r"3090", "RTX3090-24GB"),
    (r"v100.*32g", "V100-32GB"),  # RunPod "Tesla V100-SXM2-32GB"; without it the 32 GB card read as 16 GB
    (r"v100", "V100-16GB"),
    (r"t4", "T4-16GB"),
    (r"mi300x", "MI300X-192GB"),
    # Dedicated-GPU sources (RunPod Pods, Lambda, Hetzner GEX, GigaGPU); names that matched nothing before.
    (r"a30(?!\d)", "A30-24GB"),  # RunPod "NVIDIA A30"
    (r"5000ada", "RTX5000ADA-32GB"),  # RunPod "NVIDIA RTX 5000 Ada Generation"
    (r"4000sffada", "RTX4000ADA-20GB"),  # Hetzner GEX44 "RTX 4000 SFF Ada Generation"
    (r"pro4000", "RTXPRO4000-24GB"),  # Hetzner GEX45 "RTX PRO 4000 Blackwell SFF"
    (r"6000pro", "RTXPRO6000-96GB"),  # GigaGPU "RTX 6000 Pro 96GB" (= RTX PRO 6000 Blackwell)
    (r"quadrortx6000", "QUADRORTX6000-24GB"),  # Lambda "Quadro RTX 6000 (24 GB)"
]


def normalise_gpu(name: str) -> str:
    """Return the normalised GPU class for a provider's GPU name, or raise KeyError."""
    key = re.sub(r"[\s_\-/()]+", "", name.lower()).replace("nvidia", "").replace("geforce", "")
    if not key:
        raise KeyError(name)
    for pattern, cls in _RULES:
        if re.search(pattern, key):
            return cls
    raise KeyError(name)


def try_normalise_gpu(name: str) -> str | None:
    try:
        return normalise_gpu(name)
    except KeyError:
        return None
