"""Result objects: the command line's JSON fields as attributes.

Every result keeps the fields of the matching ``tessera COMMAND --json``
output under the same names (``class`` becomes ``class_``, a Python keyword),
with the large numeric fields as NumPy float64 arrays (``V``, ``a``,
``logits``, ``vertices``, ...; JSON null inside them is NaN). Numbers
that are not finite (an infinite logit, say) are kept as floats in the
attributes and become null in ``to_dict()``, as in the JSON. ``to_dict()``
gives back exactly that JSON as plain Python lists and numbers, and
``r["field"]`` works as well as ``r.field``.
"""
import math

import numpy as np

__all__ = ["Result", "Bound", "Laplace", "AffineResult", "Layer", "HiddenMap", "RayResult", "Segment", "Certificate",
           "CertifySet", "CertifySummary", "Region", "Facet", "Slice", "Polygon"]


def _attribute(key):
    return key + "_" if key in ("class", "lambda", "from", "in", "is") else key


def _plain(value):
    """JSON-shaped copy: arrays to lists (NaN to None), results to dicts."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity: the command line writes null
    return value


class Result:
    """Base of all results: JSON fields as attributes, ``to_dict()`` for the JSON."""

    _children = {}  # key -> Result subclass for nested objects (or lists of them)
    _shown = ()     # fields in repr()

    def __init__(self, fields):
        object.__setattr__(self, "_fields", {})
        for key, value in fields.items():
            child = self._children.get(key)
            if child is not None and value is not None:
                value = [child(v) for v in value] if isinstance(value, list) else child(value)
            self._fields[key] = value
            object.__setattr__(self, _attribute(key), value)

    def __setattr__(self, key, value):
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key):
        return self._fields[key]

    def __contains__(self, key):
        return key in self._fields

    def keys(self):
        """The JSON field names."""
        return self._fields.keys()

    def to_dict(self):
        """The same fields as the command line's JSON, as plain Python values."""
        return {k: _plain(v) for k, v in self._fields.items()}

    def __repr__(self):
        parts = []
        for key in self._shown:
            if key in self._fields:
                v = self._fields[key]
                if isinstance(v, np.ndarray):
                    v = f"array{v.shape}"
                elif isinstance(v, list):
                    v = f"[{len(v)} items]"
                elif isinstance(v, float):
                    v = f"{v:.6g}"
                parts.append(f"{_attribute(key)}={v}")
        return f"{type(self).__name__}({', '.join(parts)})"


class Layer(Result):
    """One piecewise layer of an activation pattern: node, name, op, units,
    active (None for max-pooling), pieces, hash."""
    _shown = ("name", "op", "units", "active")


class HiddenMap(Result):
    """A hidden pre-activation's affine map on the region: node, name, op, V, a."""
    _shown = ("name", "op", "V")


class Laplace(Result):
    """The last-layer Laplace posterior's answer (models from ``tessera laplace``).

    In ``affine``: predicted_class, confidence, probabilities, mean_logits,
    logit_variances, prior_precision, structure. In ``certify``: complete,
    predicted_class, confidence_at_input, last_region_alpha,
    last_region_hash, limit_class, limit_confidence (below 1),
    one_minus_limit_confidence, limit_probabilities, limit_scores,
    mean_logit_slope, logit_variance_growth, tolerance, alpha_within (from
    there on within the tolerance of the limit), within_from_alpha0, regions_searched.
    """
    _shown = ("predicted_class", "confidence", "limit_class", "limit_confidence", "alpha_within")


class AffineResult(Result):
    """``affine(net, x)``: the region of x and its map f(z) = V z + a.

    Fields: model, logits, softmax, predicted_class, confidence, pattern_hash,
    layers (a Layer per piecewise layer), V (K x d), a (K),
    max_relative_residual (how well V x + a reproduces the logits), with
    ``layers=True`` hidden_maps (a HiddenMap per pre-activation), and for a
    model with a Laplace posterior laplace (a Laplace).
    """
    _children = {"layers": Layer, "hidden_maps": HiddenMap, "laplace": Laplace}
    _shown = ("predicted_class", "confidence", "pattern_hash", "V")


class Segment(Result):
    """A region on a line or ray: t_begin, t_end (None: infinity), is_point,
    pattern_hash, class_, confidence_min, confidence_max, logits_intercept and
    logits_slope (the logits are intercept + t * slope on it)."""
    _shown = ("t_begin", "t_end", "class", "confidence_min", "confidence_max")


class RayResult(Result):
    """``ray(...)``: model, kind ("ray" or "line"), complete, stop_reason
    (when not complete), segments (a Segment per region, in order)."""
    _children = {"segments": Segment}
    _shown = ("kind", "complete", "segments")


class Certificate(Result):
    """``certify(net, x)``: the certificate of Theorem 3.1 for the ray alpha*x.

    Fields as ``tessera certify --json``: complete, stop_reason, method,
    unknown (fields it could not establish), predicted_class,
    confidence_at_input, last_region_alpha, last_region_hash, limit_class,
    limit_confidence, limit_ties, limit_is_tie, limit_logits,
    bias_free_residual, alpha_star (confidence >= threshold for every
    alpha >= alpha_star), first_alpha, box_entry_alpha, box_exit_alpha,
    max_confidence_in_box, first_alpha_in_box, segments, regions_visited,
    and (one input) model, threshold, box; (in a set) input_index; for a
    model with a Laplace posterior laplace (a Laplace: its limit below 1).
    """
    _children = {"laplace": Laplace}
    _shown = ("predicted_class", "limit_class", "limit_confidence", "alpha_star", "complete")


class CertifySummary(Result):
    """The summary of a certified set (``tessera certify --noise ... --json``'s
    "summary"): count, complete, ties, median_alpha_star, ..."""
    _shown = ("count", "complete", "ties", "median_alpha_star")


class CertifySet(Result):
    """``certify(net, X)`` for a batch: model, threshold, box, set_complete,
    requested, stop_reason (when not every input finished), method, summary
    (a CertifySummary) and certificates (a Certificate per finished input,
    with input_index)."""
    _children = {"summary": CertifySummary, "certificates": Certificate}
    _shown = ("requested", "set_complete", "summary")


class Facet(Result):
    """A facet of a region: row, the node and unit (or the box, or the
    competing class) that makes it, normal, offset."""
    _shown = ("row", "node", "unit")


class Region(Result):
    """``region(net, x)``: the polytope of x's region, as ``tessera region --json``:
    complete, rows, constant_rows, facets_computed, facets, bounded,
    recession_direction, chebyshev_center, inradius, largest_confidence,
    smallest_confidence, max_margin, model, box."""
    _children = {"facets": Facet}
    _shown = ("rows", "facets", "bounded", "inradius")


class Bound(Result):
    """``bound(net, x, eps=...)``: provable bounds on the confidence over a
    ball or box, as ``tessera bound --json``: method, upper_bound,
    lower_bound, gap, complete, stop_reason, argmax_input, argmax_class,
    class_upper, class_lower, unstable, seconds (exact: branches, leaves,
    lps, open, unsplittable), model."""
    _shown = ("method", "upper_bound", "lower_bound", "complete")


class Polygon(Result):
    """A region of a 2-D slice: vertices (k x 2, in window coordinates),
    pattern_hash, class_, area, confidence_min, confidence_max, logits_map
    (K x 3: the logits are logits_map @ (u, v, 1))."""
    _shown = ("class", "area", "confidence_min", "confidence_max")


class Slice(Result):
    """``slice(...)``: the exact regions of a plane through input space in a
    window, as ``tessera slice --json``: regions, complete, stop_reason,
    precision_warning, window_area, polygons (a Polygon each),
    decision_boundary (m x 2 x 2 segments), model, window, input_box."""
    _children = {"polygons": Polygon}
    _shown = ("regions", "complete", "window")
