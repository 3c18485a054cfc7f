"""What TensorRT 10's ONNX parser accepts: the data behind `tensorrt_check.py`.

From onnx-tensorrt's docs/operators.md for TensorRT 10.0 / 10.1 (the oldest parser vireid targets; later 10.x
releases add operators and relax restrictions, never the reverse for these): operators in the inclusive opset
range 9..20, and the supported operators below. INT8, INT4 and FP8 are "quantized types": they exist only as
the output of QuantizeLinear (and initializers feeding DequantizeLinear), and DequantizeLinear accepts only
them as input, which is why an int32 quantized bias is refused (onnx-tensorrt#850). Restrictions that a graph
check can see are encoded in `tensorrt_check.py`; the rest (2D/3D pooling, dilations) hold by construction
for the graphs vireid exports.
"""

from __future__ import annotations

from onnx import TensorProto

MIN_OPSET, MAX_OPSET = 9, 20

REDUCE_OPS = (
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
)
"""Supported, each with its axes as an input (opset 18+) that TensorRT needs constant."""

SUPPORTED_OPS = frozenset(
    (
        "Abs",
        "Acos",
        "Acosh",
        "Add",
        "And",
        "ArgMax",
        "ArgMin",
        "Asin",
        "Asinh",
        "Atan",
        "Atanh",
        "AveragePool",
        "BatchNormalization",
        "Cast",
        "CastLike",
        "Ceil",
        "Celu",
        "Clip",
        "Concat",
        "Constant",
        "ConstantOfShape",
        "Conv",
        "ConvTranspose",
        "Cos",
        "Cosh",
        "CumSum",
        "DeformConv",
        "DepthToSpace",
        "DequantizeLinear",
        "Div",
        "Dropout",
        "Einsum",
        "Elu",
        "Equal",
        "Erf",
        "Exp",
        "Expand",
        "EyeLike",
        "Flatten",
        "Floor",
        "Gather",
        "GatherElements",
        "GatherND",
        "Gelu",
        "Gemm",
        "GlobalAveragePool",
        "GlobalLpPool",
        "GlobalMaxPool",
        "Greater",
        "GreaterOrEqual",
        "GridSample",
        "GroupNormalization",
        "GRU",
        "HardSigmoid",
        "HardSwish",
        "Hardmax",
        "Identity",
        "If",
        "ImageScaler",
        "InstanceNormalization",
        "IsInf",
        "IsNaN",
        "LayerNormalization",
        "LeakyRelu",
        "Less",
        "LessOrEqual",
        "Log",
        "LogSoftmax",
        "Loop",
        "LRN",
        "LSTM",
        "LpNormalization",
        "LpPool",
        "MatMul",
        "Max",
        "MaxPool",
        "Mean",
        "MeanVarianceNormalization",
        "Min",
        "Mish",
        "Mod",
        "Mul",
        "Neg",
        "NonMaxSuppression",
        "NonZero",
        "Not",
        "OneHot",
        "Or",
        "Pad",
        "ParametricSoftplus",
        "Pow",
        "PRelu",
        "QuantizeLinear",
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
        "Range",
        "Reciprocal",
        *REDUCE_OPS,
        "Relu",
        "Reshape",
        "Resize",
        "ReverseSequence",
        "RNN",
        "RoiAlign",
        "Round",
        "ScaledTanh",
        "Scan",
        "Scatter",
        "ScatterElements",
        "ScatterND",
        "Selu",
        "Shape",
        "Shrink",
        "Sigmoid",
        "Sign",
        "Sin",
        "Sinh",
        "Size",
        "Slice",
        "Softmax",
        "Softplus",
        "Softsign",
        "SpaceToDepth",
        "Split",
        "Sqrt",
        "Squeeze",
        "Sub",
        "Sum",
        "Tan",
        "Tanh",
        "ThresholdedRelu",
        "Tile",
        "TopK",
        "Transpose",
        "Trilu",
        "Unsqueeze",
        "Upsample",
        "Where",
        "Xor",
    )
)

QUANTIZED_TYPES = frozenset({TensorProto.INT8, TensorProto.INT4, TensorProto.FLOAT8E4M3FN})
"""What a DequantizeLinear may read and a QuantizeLinear may produce."""

TENSOR_TYPES = frozenset(
    {
        TensorProto.FLOAT,
        TensorProto.FLOAT16,
        TensorProto.BFLOAT16,
        TensorProto.INT32,
        TensorProto.INT64,
        TensorProto.BOOL,
        TensorProto.UINT8,
        *QUANTIZED_TYPES,
    }
)

CONSTANT_INPUTS = {
    # op type -> input positions that must be an initializer or a Constant node's output
    **{
        op: (1,)
        for op in (
            *REDUCE_OPS,
            "Squeeze",
            "Unsqueeze",
        )
    },
    "Slice": (3,),
    "Clip": (1, 2),
}
"""The parser does not fold constants: "Axis input must be an initializer!" and its kin."""
