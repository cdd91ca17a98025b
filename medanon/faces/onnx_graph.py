"""MTCNN's ONNX graphs rewritten in memory for ONNX Runtime: the same numbers, to the bit, faster.

ONNX files are protobuf messages; this module reads and writes the few fields the rewrites need
(field numbers from ``onnx.proto``), so that medanon needs no ``onnx`` package. Each rewrite is a
pure function of the model's bytes, returns them unchanged when the graph is not the shape it
was written for, and is measured and explained in ``docs/faces.md`` (fourth to sixth speed
passes). :func:`medanon.faces.detect._ort_nets_checked` uses the rewritten nets only after
checking, once per thread, that they give the files' own outputs on a fixed input.

Used by :mod:`medanon.faces.detect` only (the names are private to the two of them).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

# Field numbers from onnx.proto.
_PB_MODEL_GRAPH = 7
_PB_GRAPH_NODE, _PB_GRAPH_NAME, _PB_GRAPH_INITIALIZER, _PB_GRAPH_INPUT, _PB_GRAPH_OUTPUT = (
    1,
    2,
    5,
    11,
    12,
)
_PB_NODE_INPUT, _PB_NODE_OUTPUT, _PB_NODE_NAME, _PB_NODE_OP, _PB_NODE_ATTRIBUTE = 1, 2, 3, 4, 5
_PB_TENSOR_DIMS, _PB_TENSOR_TYPE, _PB_TENSOR_FLOATS, _PB_TENSOR_NAME, _PB_TENSOR_RAW = 1, 2, 4, 8, 9
_PB_ATTR_NAME, _PB_ATTR_F, _PB_ATTR_I, _PB_ATTR_INTS, _PB_ATTR_TYPE = 1, 2, 3, 8, 20
_ONNX_ATTR_INT, _ONNX_ATTR_INTS = 2, 7  # AttributeProto.INT, AttributeProto.INTS
_ONNX_FLOAT = 1  # TensorProto.FLOAT and AttributeProto.FLOAT
_ONNX_INT64 = 7  # TensorProto.INT64


def _pb_varint(value: int) -> bytes:
    """A non-negative int as a protobuf varint (7 bits a byte, low bits first)."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _pb_read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _pb_fields(buf: bytes) -> Iterator[tuple[int, int | bytes, bytes]]:
    """The fields of one protobuf message: (field number, value, the field's bytes as
    written). Values are ints for varints and bytes otherwise (sub-messages, strings)."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _pb_read_varint(buf, pos)
        kind = key & 7
        value: int | bytes
        if kind == 0:
            value, pos = _pb_read_varint(buf, pos)
        elif kind == 2:
            size, pos = _pb_read_varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif kind in (1, 5):
            size = 8 if kind == 1 else 4
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {kind}")
        yield key >> 3, value, buf[start:pos]


def _pb_bytes(field: int, payload: bytes) -> bytes:
    return _pb_varint(field << 3 | 2) + _pb_varint(len(payload)) + payload


def _pb_int(field: int, value: int) -> bytes:
    return _pb_varint(field << 3) + _pb_varint(value)


def _onnx_node(op: str, inputs: list[str], output: str, attributes: bytes = b"") -> bytes:
    """A graph's node field (NodeProto), named after its one output."""
    body = b"".join(_pb_bytes(_PB_NODE_INPUT, i.encode()) for i in inputs)
    body += _pb_bytes(_PB_NODE_OUTPUT, output.encode()) + _pb_bytes(_PB_NODE_NAME, output.encode())
    body += _pb_bytes(_PB_NODE_OP, op.encode()) + attributes
    return _pb_bytes(_PB_GRAPH_NODE, body)


def _onnx_tensor(name: str, values: np.ndarray) -> bytes:
    """A graph's initializer field (TensorProto): a float32 or int64 constant."""
    dtype = _ONNX_INT64 if values.dtype.kind in "iu" else _ONNX_FLOAT
    body = b"".join(_pb_int(_PB_TENSOR_DIMS, d) for d in values.shape)
    body += _pb_int(_PB_TENSOR_TYPE, dtype) + _pb_bytes(_PB_TENSOR_NAME, name.encode())
    data = values.astype("<i8" if dtype == _ONNX_INT64 else "<f4")
    return _pb_bytes(_PB_GRAPH_INITIALIZER, body + _pb_bytes(_PB_TENSOR_RAW, data.tobytes()))


def _onnx_tensor_name(tensor: bytes) -> str:
    """A TensorProto's name."""
    for f, v, _ in _pb_fields(tensor):
        if f == _PB_TENSOR_NAME:
            return bytes(v).decode()  # type: ignore[arg-type]
    return ""


def _onnx_float_tensors(graph: bytes) -> dict[str, np.ndarray]:
    """The graph's float initializers, by name, shaped: the convolutions' weights and biases
    (stored as ``float_data`` in MTCNN's files) and the PReLUs' slopes (``raw_data``)."""
    tensors: dict[str, np.ndarray] = {}
    for field, value, _ in _pb_fields(graph):
        if field != _PB_GRAPH_INITIALIZER:
            continue
        dims, name, data, dtype = [], "", b"", 0
        for f, v, _ in _pb_fields(value):  # type: ignore[arg-type]
            if f == _PB_TENSOR_DIMS:
                dims.append(int(v))  # type: ignore[arg-type]
            elif f == _PB_TENSOR_NAME:
                name = bytes(v).decode()  # type: ignore[arg-type]
            elif f in (_PB_TENSOR_RAW, _PB_TENSOR_FLOATS):  # packed or one float: 4 bytes each
                data += bytes(v)  # type: ignore[arg-type]
            elif f == _PB_TENSOR_TYPE:
                dtype = int(v)  # type: ignore[arg-type]
        if dtype == _ONNX_FLOAT and len(data) == 4 * math.prod(dims):
            tensors[name] = np.frombuffer(data, "<f4").reshape(dims)
    return tensors


def _onnx_graph(model: bytes) -> bytes:
    """A ModelProto's graph."""
    graph = b""
    for field, value, _ in _pb_fields(model):
        if field == _PB_MODEL_GRAPH:
            graph = bytes(value)  # type: ignore[arg-type]
    return graph


def _onnx_with_graph(model: bytes, graph: bytes) -> bytes:
    """The ModelProto with its graph replaced, every other field as written."""
    return b"".join(
        _pb_bytes(field, graph) if field == _PB_MODEL_GRAPH else raw
        for field, _, raw in _pb_fields(model)
    )


def _onnx_node_io(node: bytes) -> tuple[bytes, list[str], list[str]]:
    """A node's operator, inputs and outputs."""
    op, inputs, outputs = b"", [], []
    for f, v, _ in _pb_fields(node):
        if f == _PB_NODE_OP:
            op = bytes(v)  # type: ignore[arg-type]
        elif f == _PB_NODE_INPUT:
            inputs.append(bytes(v).decode())  # type: ignore[arg-type]
        elif f == _PB_NODE_OUTPUT:
            outputs.append(bytes(v).decode())  # type: ignore[arg-type]
    return op, inputs, outputs


def _onnx_node_with_output(node: bytes, output: str) -> bytes:
    """A graph's node field: the node (NodeProto) with its one output renamed."""
    fields = [raw for f, _, raw in _pb_fields(node) if f != _PB_NODE_OUTPUT]
    return _pb_bytes(_PB_GRAPH_NODE, b"".join(fields) + _pb_bytes(_PB_NODE_OUTPUT, output.encode()))


def _onnx_value_info_name(value_info: bytes) -> str:
    """A ValueInfoProto's name (a graph's input or output)."""
    for f, v, _ in _pb_fields(value_info):
        if f == 1:
            return bytes(v).decode()  # type: ignore[arg-type]
    return ""


def _onnx_float_output(name: str) -> bytes:
    """A graph's output field: a float32 tensor (ValueInfoProto), shape left to the model."""
    tensor_type = _pb_int(1, _ONNX_FLOAT)  # TypeProto.Tensor.elem_type
    return _pb_bytes(
        _PB_GRAPH_OUTPUT, _pb_bytes(1, name.encode()) + _pb_bytes(2, _pb_bytes(1, tensor_type))
    )


def _onnx_ints(attribute: bytes) -> list[int]:
    """An AttributeProto's ``ints`` (packed or not)."""
    ints: list[int] = []
    for f, v, _ in _pb_fields(attribute):
        if f == _PB_ATTR_INTS and isinstance(v, int):
            ints.append(v)
        elif f == _PB_ATTR_INTS:  # packed: varints one after another
            pos = 0
            while pos < len(v):
                value, pos = _pb_read_varint(v, pos)
                ints.append(value)
    return ints


def _input_transpose_removed(model: bytes) -> bytes:
    """The model with the ``Transpose`` (N, W, H, 3) to (N, 3, W, H) its input goes through
    first removed: its input is then the channels-first tensor (see :class:`_OrtNet`).
    Unchanged when the model does not start so, or when the bytes cannot be parsed."""
    try:
        graph = _onnx_graph(model)
        fields = list(_pb_fields(graph))
        inputs = [i for i, (field, _, _) in enumerate(fields) if field == _PB_GRAPH_INPUT]
        if len(inputs) != 1:
            return model
        value_info = fields[inputs[0]][1]
        name = _onnx_value_info_name(value_info)  # type: ignore[arg-type]
        for i, (field, value, _) in enumerate(fields):
            op, node_in, node_out = (
                _onnx_node_io(value) if field == _PB_GRAPH_NODE else (b"", [], [])  # type: ignore[arg-type]
            )
            if op == b"Transpose" and node_in == [name] and len(node_out) == 1:
                perm = [
                    _onnx_ints(v)  # type: ignore[arg-type]
                    for f, v, _ in _pb_fields(value)  # type: ignore[arg-type]
                    if f == _PB_NODE_ATTRIBUTE
                ]
                if perm != [[0, 3, 1, 2]]:
                    return model
                kept = (raw for k, (_, _, raw) in enumerate(fields) if k not in (i, inputs[0]))
                permuted = _onnx_permuted_input(value_info, node_out[0], (0, 3, 1, 2))  # type: ignore[arg-type]
                return _onnx_with_graph(model, permuted + b"".join(kept))
        return model
    except (IndexError, ValueError, UnicodeDecodeError):  # not a model this code can read
        return model


def _onnx_permuted_input(value_info: bytes, name: str, perm: tuple[int, ...]) -> bytes:
    """A graph's input field: the input (ValueInfoProto of a tensor) renamed, its dimensions
    in the order ``perm``."""

    def only(message: bytes, field: int) -> bytes:  # the one sub-message in ``field``
        (found,) = [v for f, v, _ in _pb_fields(message) if f == field]
        return bytes(found)  # type: ignore[arg-type]

    tensor_type = only(only(value_info, 2), 1)  # ValueInfoProto.type, TypeProto.tensor_type
    elem_type = b"".join(raw for f, _, raw in _pb_fields(tensor_type) if f == 1)
    dims = [raw for f, _, raw in _pb_fields(only(tensor_type, 2)) if f == 1]  # shape.dim
    if len(dims) != len(perm):
        raise ValueError("the input's rank does not match the permutation")
    tensor = elem_type + _pb_bytes(2, b"".join(dims[k] for k in perm))
    return _pb_bytes(
        _PB_GRAPH_INPUT, _pb_bytes(1, name.encode()) + _pb_bytes(2, _pb_bytes(1, tensor))
    )


def _proposal_heads_merged(model: bytes) -> bytes:
    """The proposal net with its two heads, each a 1x1 convolution transposed to (N, W', H',
    C) for an output of its own (the class logits through a ``Softmax`` to ``"softmax"``,
    the box regression to ``"conv2d_4"``), as one convolution with both heads' filters
    (logits first) as one output ``"heads"``, (N, 6, W', H'), without the ``Softmax`` (see
    :class:`_OrtProposalNet`). The same numbers: each output channel of a convolution is
    its own sum, computed alike with other filters beside it (tested). A model of another
    shape, or bytes it cannot parse, come back unchanged."""
    try:
        return _merge_proposal_heads(model)
    except (IndexError, ValueError, UnicodeDecodeError, KeyError):  # not the proposal net
        return model


def _onnx_parts(
    model: bytes,
) -> tuple[
    dict[str, np.ndarray],
    list[tuple[int, int | bytes, bytes]],
    dict[int, tuple[bytes, list[str], list[str]]],
]:
    """A model's float tensors by name, its graph's fields in order, and its nodes (operator,
    inputs, outputs) by their index among those fields."""
    graph = _onnx_graph(model)
    fields = list(_pb_fields(graph))
    nodes = {
        i: _onnx_node_io(value)  # type: ignore[arg-type]
        for i, (field, value, _) in enumerate(fields)
        if field == _PB_GRAPH_NODE
    }
    return _onnx_float_tensors(graph), fields, nodes


def _merge_proposal_heads(model: bytes) -> bytes:
    """:func:`_proposal_heads_merged`, raising (or returning the model) when it does not fit."""
    tensors, fields, nodes = _onnx_parts(model)
    producer = {out: i for i, (_, _, outs) in nodes.items() for out in outs}
    outputs = [
        _onnx_value_info_name(value)  # type: ignore[arg-type]
        for field, value, _ in fields
        if field == _PB_GRAPH_OUTPUT
    ]
    if len(outputs) != 2:
        return model
    by_op = {nodes[producer[name]][0]: name for name in outputs}  # KeyError: not this net
    softmax, regression_out = producer[by_op[b"Softmax"]], by_op[b"Transpose"]
    chains = []  # (the head's convolution, its transpose) for the logits, then the regression
    for tail in (nodes[softmax][1][0], regression_out):
        transpose = producer[tail]
        conv = producer[nodes[transpose][1][0]]
        chains.append((conv, transpose))
    (score_conv, score_t), (reg_conv, reg_t) = chains
    score_in, reg_in = nodes[score_conv][1], nodes[reg_conv][1]
    weights = [tensors[score_in[1]], tensors[reg_in[1]]]
    ok = (
        nodes[score_t][0] == nodes[reg_t][0] == b"Transpose"
        and nodes[score_conv][0] == nodes[reg_conv][0] == b"Conv"
        and score_in[0] == reg_in[0]
        and len(score_in) == len(reg_in) == 3
        and weights[0].shape[0] == 2
        and weights[0].shape[1:] == weights[1].shape[1:] == (weights[0].shape[1], 1, 1)
    )
    if not ok:
        return model
    biases = [tensors[score_in[2]], tensors[reg_in[2]]]
    conv_node = fields[score_conv][1]
    attributes = b"".join(
        raw
        for f, _, raw in _pb_fields(conv_node)  # type: ignore[arg-type]
        if f == _PB_NODE_ATTRIBUTE
    )
    # channels first, (N, 6, W', H'): without the heads' transpose to (N, W', H', C) the net
    # was 2-3.5% faster on the largest levels (the same numbers; sixth speed pass)
    merged = [_onnx_node("Conv", [score_in[0], "heads/weights", "heads/bias"], "heads", attributes)]
    dropped = {score_conv, score_t, softmax, reg_conv, reg_t}
    out = []
    for i, (field, _, raw) in enumerate(fields):
        if i == score_conv:
            out += merged
        elif field != _PB_GRAPH_OUTPUT and i not in dropped:
            out.append(raw)
    out += [
        _onnx_tensor("heads/weights", np.concatenate(weights)),
        _onnx_tensor("heads/bias", np.concatenate(biases)),
        _onnx_float_output("heads"),
    ]
    return _onnx_with_graph(model, b"".join(out))


def _onnx_softmax_model() -> bytes:
    """A model of one node: ``Softmax`` over the last axis of ``"logits"``, (N, 2) float32,
    giving ``"probabilities"``; opset 12, as MTCNN's files."""

    def value_info(name: str) -> bytes:  # ValueInfoProto: a float32 tensor of shape (N, 2)
        dims = _pb_bytes(1, _pb_bytes(2, b"N")) + _pb_bytes(1, _pb_int(1, 2))  # Dimensions
        tensor_type = _pb_int(1, _ONNX_FLOAT) + _pb_bytes(2, dims)  # elem_type, shape
        return _pb_bytes(1, name.encode()) + _pb_bytes(2, _pb_bytes(1, tensor_type))

    axis = _pb_bytes(
        _PB_NODE_ATTRIBUTE,
        _pb_bytes(_PB_ATTR_NAME, b"axis")
        + _pb_int(_PB_ATTR_I, 1)
        + _pb_int(_PB_ATTR_TYPE, _ONNX_ATTR_INT),
    )
    graph = _onnx_node("Softmax", ["logits"], "probabilities", axis)
    graph += _pb_bytes(_PB_GRAPH_NAME, b"softmax")
    graph += _pb_bytes(_PB_GRAPH_INPUT, value_info("logits"))
    graph += _pb_bytes(_PB_GRAPH_OUTPUT, value_info("probabilities"))
    opset = _pb_bytes(1, b"") + _pb_int(2, 12)  # OperatorSetIdProto: domain, version
    return _pb_int(1, 7) + _pb_bytes(8, opset) + _pb_bytes(_PB_MODEL_GRAPH, graph)  # IR version 7


_NCHWC_BLOCK = 16  # ONNX Runtime's blocked layout: 16 channels with AVX-512, 8 with AVX2


def _pooled_channels_padded(model: bytes) -> bytes:
    """The model with every convolution that feeds a PReLU and then a max-pooling given zero
    filters up to a multiple of 16 output channels: the same numbers to the bit, with the
    PReLU and the pooling in ONNX Runtime's blocked (NCHWc) layout. After the pooling, a
    ``Slice`` back to the convolution's own channels (the proposal net's 10), or, where the
    next convolution reads more than a block (the refine net's 28), zero weights for the
    added channels in that convolution.

    Why? ONNX Runtime computes the convolution in blocks of 16 channels anyway, but with 10
    or 28 channels its max-pooling cannot stay in the blocked layout: the tensor was
    converted back at full resolution, pooled there, and (refine net) converted again and
    padded with zero channels for the next convolution. Padded, the pooling runs blocked:
    the proposal net ~3% faster, the refine net ~14% (``docs/faces.md``, fifth speed pass).
    Exact: a zero filter with a zero bias gives zeros, which change no other channel; the
    ``Slice`` hands the next convolution the channels it read before, and the zero weights
    meet the zero channels ONNX Runtime added before (tested against the files as written).
    Bytes it cannot parse come back unchanged.
    """
    try:
        return _pad_pooled_channels(model)
    except (IndexError, ValueError, UnicodeDecodeError):  # not a model this code can read
        return model


def _pad_pooled_channels(model: bytes) -> bytes:
    """:func:`_pooled_channels_padded`, raising on bytes it cannot parse."""
    tensors, fields, nodes = _onnx_parts(model)
    users: dict[str, list[int]] = {}
    for i, (_, inputs, _) in nodes.items():
        for name in inputs:
            users.setdefault(name, []).append(i)

    def only_user(tensor: str, op: bytes) -> int | None:
        found = users.get(tensor, [])
        return found[0] if len(found) == 1 and nodes[found[0]][0] == op else None

    padded: dict[str, np.ndarray] = {}  # initializers to replace, by name
    sliced: dict[int, str] = {}  # max-pooling node -> its output, now the Slice's
    added: list[bytes] = []
    for op, inputs, outputs in nodes.values():
        if op != b"Conv" or len(outputs) != 1 or not 2 <= len(inputs) <= 3:
            continue
        prelu = only_user(outputs[0], b"PRelu")
        pool = only_user(nodes[prelu][2][0], b"MaxPool") if prelu is not None else None
        if prelu is None or pool is None or len(nodes[pool][2]) != 1:
            continue
        weights, slope = tensors.get(inputs[1]), tensors.get(nodes[prelu][1][1])
        bias = tensors.get(inputs[2]) if len(inputs) == 3 else np.zeros(0, np.float32)
        if weights is None or slope is None or bias is None:
            continue
        channels = weights.shape[0]
        extra = -channels % _NCHWC_BLOCK
        per_channel = slope.shape == (1, channels, 1, 1) and bias.shape in ((0,), (channels,))
        if extra == 0 or not per_channel:
            continue
        padded[inputs[1]] = np.concatenate([weights, np.zeros((extra, *weights.shape[1:]))])
        padded[nodes[prelu][1][1]] = np.concatenate([slope, np.zeros((1, extra, 1, 1))], axis=1)
        if len(inputs) == 3:
            padded[inputs[2]] = np.concatenate([bias, np.zeros(extra)])
        pooled = nodes[pool][2][0]
        after = only_user(pooled, b"Conv")
        next_weights = tensors.get(nodes[after][1][1]) if after is not None else None
        if channels > _NCHWC_BLOCK and next_weights is not None and next_weights.ndim == 4:
            # ONNX Runtime pads this input with zero channels to whole blocks itself (the
            # refine net's 28): zero weights for them instead of a Slice, the same sums
            zeros = np.zeros((next_weights.shape[0], extra, *next_weights.shape[2:]))
            padded[nodes[after][1][1]] = np.concatenate([next_weights, zeros], axis=1)
            continue
        sliced[pool] = pooled
        p = f"{pooled}/unpad_"
        added += [
            _onnx_tensor(p + "starts", np.array([0])),
            _onnx_tensor(p + "ends", np.array([channels])),
            _onnx_tensor(p + "axes", np.array([1])),
        ]
    if not padded:
        return model
    out = []
    for i, (field, value, raw) in enumerate(fields):
        name = _onnx_tensor_name(value) if field == _PB_GRAPH_INITIALIZER else ""  # type: ignore[arg-type]
        if name in padded:
            out.append(_onnx_tensor(name, padded[name]))
        elif i in sliced:  # the pooling writes the padded channels, the Slice the original name
            pooled, p = sliced[i], f"{sliced[i]}/unpad_"
            out.append(_onnx_node_with_output(value, p + "padded"))  # type: ignore[arg-type]
            slice_inputs = [p + "padded", p + "starts", p + "ends", p + "axes"]
            out.append(_onnx_node("Slice", slice_inputs, pooled))
        else:
            out.append(raw)
    return _onnx_with_graph(model, b"".join(out + added))


def _prelu_as_nchwc_ops(model: bytes) -> bytes:
    """The model with every per-channel PReLU after a convolution, ``y if y > 0 else a*y``,
    written as ``Relu(y) + (-a) * Relu(-y)``: the same numbers to the bit, in operators that
    ONNX Runtime keeps in its blocked (NCHWc) layout.

    Why? ONNX Runtime runs MTCNN's convolutions in the NCHWc layout but has no NCHWc PReLU:
    each one converted the tensor back, ran a broadcasting PReLU (the most expensive node:
    35% of the proposal net on a 320x240 level, 48% of the refine net on 40 crops) and
    converted it again. As ``Relu`` (elementwise, in the layout), ``BatchNormalization``
    with scale -1 and with scale ``-a`` (both become 1x1 per-channel convolutions, the first
    with the second ``Relu`` fused in) and ``Add`` (fused into the last one), nothing leaves
    the layout: the proposal net took ~40% less time on large levels, the refine and output
    nets about half (``docs/faces.md``, fourth speed pass). Exact: ``-y`` is exact,
    ``(-a) * Relu(-y)`` rounds like ``a * y``, and one of the two terms of the sum is zero
    (tested against the file as written). PReLUs on 2-D tensors (after the dense layers)
    stay. A model without such PReLUs, or bytes it cannot parse, come back unchanged (ONNX
    Runtime then runs them as written: the same numbers, slower).
    """
    try:
        return _rewrite_prelus(model)
    except (IndexError, ValueError, UnicodeDecodeError):  # not a model this code can read
        return model


def _rewrite_prelus(model: bytes) -> bytes:
    """:func:`_prelu_as_nchwc_ops`, raising on bytes it cannot parse."""
    graph = _onnx_graph(model)
    slopes = {  # per-channel slopes, (1, C, 1, 1): the PReLUs after convolutions
        name: t.reshape(-1)
        for name, t in _onnx_float_tensors(graph).items()
        # C > 1: a (1, 1, 1, 1) slope is broadcast to every channel, and the BatchNormalization
        # below needs one value per channel (an audit's crafted model failed at run time).
        if t.ndim == 4 and t.shape[0] == t.shape[2] == t.shape[3] == 1 and t.shape[1] > 1
    }
    epsilon = _pb_bytes(  # BatchNormalization's epsilon = 0.0: x * scale, nothing added
        _PB_NODE_ATTRIBUTE,
        _pb_bytes(_PB_ATTR_NAME, b"epsilon")
        + _pb_varint(_PB_ATTR_F << 3 | 5)
        + bytes(4)
        + _pb_int(_PB_ATTR_TYPE, _ONNX_FLOAT),
    )
    fields, added = [], []
    for field, value, raw in _pb_fields(graph):
        op, inputs, outputs = (
            _onnx_node_io(value) if field == _PB_GRAPH_NODE else (b"", [], [])  # type: ignore[arg-type]
        )
        if op != b"PRelu" or len(inputs) != 2 or inputs[1] not in slopes or len(outputs) != 1:
            fields.append(raw)  # everything else as written, in its place
            continue
        (y, slope), (out,) = inputs, outputs
        a = slopes[slope]
        p = f"{out}/nchwc_"
        added += [
            _onnx_tensor(p + "zero", np.zeros_like(a)),
            _onnx_tensor(p + "one", np.ones_like(a)),
            _onnx_tensor(p + "minus_one", -np.ones_like(a)),
            _onnx_tensor(p + "minus_slope", -a),
        ]
        stats = [p + "zero", p + "zero", p + "one"]  # bias, mean, variance: x * scale
        fields += [
            _onnx_node("Relu", [y], p + "pos"),
            _onnx_node("BatchNormalization", [y, p + "minus_one", *stats], p + "neg", epsilon),
            _onnx_node("Relu", [p + "neg"], p + "relu_neg"),
            _onnx_node(
                "BatchNormalization",
                [p + "relu_neg", p + "minus_slope", *stats],
                p + "scaled",
                epsilon,
            ),
            _onnx_node("Add", [p + "scaled", p + "pos"], out),
        ]
    if not added:
        return model
    return _onnx_with_graph(model, b"".join(fields) + b"".join(added))
