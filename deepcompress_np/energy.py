"""Memory traffic and energy of one inference: why a smaller model is a cheaper model (paper §1, §6.3, §9).

At batch size 1 a fully connected layer reads every weight it stores once
per input and does one multiply-add with it, so the cost of inference is set
by how many bytes of weights are read and *from where*. Deep Compression's
argument (§1, §9): "Energy consumption is dominated by memory access": in
45 nm CMOS a 32-bit read from off-chip DRAM costs 640 pJ, a 32-bit read from
on-chip SRAM 5 pJ, a float add 0.9 pJ. A dense VGG-16 (553 MB) can only live
in DRAM; compressed, its weights "fit into on-chip SRAM cache (5pJ/access)
rather than requiring off-chip DRAM memory (640pJ/access)" (§9).

This module does that arithmetic for the three forms of a layer:

* ``"dense"``: every weight as a float32, ``4 * out * in`` bytes;
* ``"csr"``: the paper's §2 CSR, "2a + n + 1 numbers" (a kept weights, n
  rows), each a 32-bit number (float32 value, int32 column index and row
  pointer, as MKL's CSR kernels read them);
* ``"compressed"``: the stored entries of the relative-index form (kept
  weights plus filler zeros), each with its cluster index and its gap field
  at their fixed widths (P+Q), plus the float32 codebook. This is what a
  kernel reads (Huffman coding, §4, shrinks the file further but must be
  undone before the weights can be used, so it is not counted).

and the energy of one inference from the table :data:`ENERGY_PJ` (change it,
or pass your own). Only the weights are counted: the activations are the
same in every form and far smaller at batch 1. Arithmetic is one float
multiply and one float add per weight used: all of them dense, only the kept
ones sparse.

Where weights live is the assumption that decides everything, so it is a
parameter: a form whose weights for the whole network fit in ``sram_bytes``
(default :data:`DEFAULT_SRAM_BYTES`) is read from SRAM, otherwise from DRAM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from deepcompress_np._validate import check_int
from deepcompress_np.report import fixed_weight_bits

#: Energy per operation in 45 nm CMOS, picojoules.
ENERGY_PJ = {
    "dram_read_32bit": 640.0,  # off-chip DRAM, one 32-bit access
    "sram_read_32bit": 5.0,    # on-chip SRAM cache, one 32-bit access
    "float_mult_32bit": 3.7,
    "float_add_32bit": 0.9,
}

#: Where the figures come from.
ENERGY_SOURCE = (
    "M. Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014, 45 nm CMOS; "
    "tabulated in Han, Pool, Tran and Dally, 'Learning both Weights and Connections for Efficient Neural "
    "Networks', NIPS 2015, Figure 1 (32 bit DRAM memory 640 pJ, SRAM cache 5 pJ, float MULT 3.7 pJ, float "
    "ADD 0.9 pJ), and quoted in Deep Compression (ICLR 2016) §1 and §9 (640 pJ, 5 pJ, 0.9 pJ)."
)

#: On-chip memory assumed to hold the weights: 15 MiB, the L3 cache of the Core i7-5930K that the paper's
#: CPU timings (Table 8) come from. An assumption, not a figure of the paper: change it.
DEFAULT_SRAM_BYTES = 15 * 2**20

FORMS = ("dense", "csr", "compressed")
FLOAT_BITS = 32  # a dense weight, a CSR value and a codebook entry are float32
CSR_NUMBER_BITS = 32  # CSR's values, column indices and row pointers


@dataclass(frozen=True)
class LayerCounts:
    """What the traffic of one fully connected layer depends on.

    Attributes
    ----------
    name : str
    n_out, n_in : int
        The dense matrix is (n_out, n_in).
    n_kept : int
        Weights that survived pruning (a in the paper's "2a + n + 1").
    n_entries : int
        Stored entries of the relative-index form: kept weights plus filler zeros.
    weight_bits : int
        Bits of a cluster index (the filler's symbol included), P+Q.
    index_bits : int
        Bits of a relative-index gap field.
    codebook_size : int
        Shared weights k, each a float32.
    """

    name: str
    n_out: int
    n_in: int
    n_kept: int
    n_entries: int
    weight_bits: int
    index_bits: int
    codebook_size: int

    def __post_init__(self):
        for field in ("n_out", "n_in", "n_kept", "n_entries", "weight_bits", "index_bits", "codebook_size"):
            check_int(getattr(self, field), field, 0)
        if self.n_kept > self.n_out * self.n_in:
            raise ValueError(f"{self.name}: n_kept = {self.n_kept} exceeds the {self.n_out} x {self.n_in} weights")
        if self.n_entries < self.n_kept:
            raise ValueError(f"{self.name}: n_entries = {self.n_entries} (kept plus fillers) is below "
                             f"n_kept = {self.n_kept}")

    @property
    def n_weights(self):
        return self.n_out * self.n_in


def layer_counts(layer):
    """:class:`LayerCounts` of a fully connected ``fileformat.CompressedLayer``.

    The weight bits are those of ``report.layer_table`` (P+Q): ``log2(k)``
    rounded up, for ``k + 1`` symbols when the layer has filler zeros.
    """
    if len(layer.shape) != 2:
        raise ValueError(f"layer {layer.name!r} has shape {tuple(layer.shape)}; only fully connected "
                         f"(out, in) layers are counted here")
    return LayerCounts(layer.name, int(layer.shape[0]), int(layer.shape[1]), layer.n_entries - layer.n_fillers,
                       layer.n_entries, fixed_weight_bits(layer), int(layer.index_bits),
                       int(np.asarray(layer.codebook).size))


def weight_bytes(counts, form):
    """Bytes of weights (and their indices) one inference reads from a layer in ``form``.

    * dense: ``4 * n_out * n_in``;
    * csr: ``4 * (2 * n_kept + n_out + 1)`` (paper §2: 2a + n + 1 numbers of 32 bits);
    * compressed: ``(n_entries * (weight_bits + index_bits) + 32 * codebook_size) / 8``.
    """
    if form == "dense":
        return FLOAT_BITS * counts.n_weights / 8
    if form == "csr":
        return CSR_NUMBER_BITS * (2 * counts.n_kept + counts.n_out + 1) / 8
    if form == "compressed":
        return (counts.n_entries * (counts.weight_bits + counts.index_bits) + FLOAT_BITS * counts.codebook_size) / 8
    raise ValueError(f"unknown form {form!r}; expected one of {FORMS}")


def _check_table(energy):
    missing = set(ENERGY_PJ) - set(energy)
    if missing:
        raise ValueError(f"the energy table lacks {sorted(missing)}; it needs the keys of energy.ENERGY_PJ")
    for key in ENERGY_PJ:
        value = energy[key]
        if not isinstance(value, (int, float, np.floating, np.integer)) or not value >= 0 or math.isinf(value):
            raise ValueError(f"energy[{key!r}] must be a finite number of picojoules >= 0, got {value!r}")


def layer_energy(counts, form, location, energy=None):
    """Energy of one inference (batch 1) through one layer, in picojoules.

    Parameters
    ----------
    counts : LayerCounts
    form : {"dense", "csr", "compressed"}
    location : {"dram", "sram"}
        Where the weights are read from.
    energy : dict, optional
        Picojoules per operation; default :data:`ENERGY_PJ`.

    Returns
    -------
    dict
        ``bytes`` read, ``reads`` (32-bit accesses, ``bytes / 4``),
        ``memory_pj`` (reads times the access energy), ``macs`` (multiply-adds:
        every weight dense, the kept ones otherwise), ``arithmetic_pj``
        (macs times multiply plus add) and ``total_pj``.
    """
    energy = ENERGY_PJ if energy is None else energy
    _check_table(energy)
    if location not in ("dram", "sram"):
        raise ValueError(f"location must be 'dram' or 'sram', got {location!r}")
    n_bytes = weight_bytes(counts, form)
    reads = n_bytes / 4
    macs = counts.n_weights if form == "dense" else counts.n_kept
    memory = reads * energy[f"{location}_read_32bit"]
    arithmetic = macs * (energy["float_mult_32bit"] + energy["float_add_32bit"])
    return {"bytes": n_bytes, "reads": reads, "memory_pj": memory, "macs": macs, "arithmetic_pj": arithmetic,
            "total_pj": memory + arithmetic}


def network_energy(layers, sram_bytes=DEFAULT_SRAM_BYTES, energy=None):
    """Bytes and energy of one inference through a network of fc layers, in every form.

    A form's weights are read from SRAM if *all* of them (the whole
    network's, so they can stay on chip from one input to the next) fit in
    ``sram_bytes``, else from DRAM.

    Parameters
    ----------
    layers : list of LayerCounts
    sram_bytes : int
        On-chip memory available for weights (default :data:`DEFAULT_SRAM_BYTES`).
    energy : dict, optional
        Picojoules per operation; default :data:`ENERGY_PJ`.

    Returns
    -------
    dict
        ``forms``: per form, ``bytes``, ``location``, ``total_pj`` and
        ``layers`` (the :func:`layer_energy` dict of each layer, with its
        name); ``dense_over_compressed``: energy ratio dense / compressed;
        ``dense_over_csr``; ``sram_bytes``.
    """
    sram_bytes = check_int(sram_bytes, "sram_bytes", 0)
    layers = list(layers)
    if not layers:
        raise ValueError("network_energy needs at least one layer")
    forms = {}
    for form in FORMS:
        total_bytes = sum(weight_bytes(c, form) for c in layers)
        location = "sram" if total_bytes <= sram_bytes else "dram"
        per_layer = [{"layer": c.name, **layer_energy(c, form, location, energy)} for c in layers]
        forms[form] = {"bytes": total_bytes, "location": location, "layers": per_layer,
                       "total_pj": sum(row["total_pj"] for row in per_layer)}
    return {"forms": forms, "sram_bytes": sram_bytes,
            "dense_over_compressed": forms["dense"]["total_pj"] / forms["compressed"]["total_pj"],
            "dense_over_csr": forms["dense"]["total_pj"] / forms["csr"]["total_pj"]}


def format_energy_table(networks):
    """A text table: per network and layer, bytes read and energy per inference in every form.

    ``networks`` maps a network's name to the result of :func:`network_energy`.
    """
    lines = [f"{'network':13s} {'layer':6s} " + " ".join(f"{f + ' MB':>13s} {f + ' uJ':>13s}" for f in FORMS)
             + f" {'dense/compr.':>13s}"]
    for net, result in networks.items():
        forms = result["forms"]
        for i, name in enumerate(row["layer"] for row in forms["dense"]["layers"]):
            cells = " ".join(f"{forms[f]['layers'][i]['bytes'] / 1e6:13.3f} {forms[f]['layers'][i]['total_pj'] / 1e6:13.3f}"
                             for f in FORMS)
            ratio = forms["dense"]["layers"][i]["total_pj"] / forms["compressed"]["layers"][i]["total_pj"]
            lines.append(f"{net:13s} {name:6s} {cells} {ratio:12.1f}x")
        cells = " ".join(f"{forms[f]['bytes'] / 1e6:13.3f} {forms[f]['total_pj'] / 1e6:13.3f}" for f in FORMS)
        lines.append(f"{net:13s} {'total':6s} {cells} {result['dense_over_compressed']:12.1f}x")
        lines.append(f"{'':13s} {'from':6s} " + " ".join(f"{forms[f]['location'].upper():>27s}" for f in FORMS))
    return "\n".join(lines)
