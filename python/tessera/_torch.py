"""torch.nn.Module -> ONNX bytes in memory (python3-torch, imported lazily)."""
import io


def export_bytes(module, example_input, opset_version=13):
    import torch

    buffer = io.BytesIO()
    modes = [(m, m.training) for m in module.modules()]  # each submodule's own mode, restored after
    module.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(module, example_input, buffer, opset_version=opset_version, input_names=["input"],
                              output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                              do_constant_folding=True)
    finally:
        for m, training in modes:
            m.training = training
    return buffer.getvalue()
