"""torch.nn.Module -> ONNX bytes in memory (python3-torch, imported lazily)."""
import io
import warnings


def export_bytes(module, example_input, opset_version=13):
    import torch

    buffer = io.BytesIO()
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, example_input, buffer, opset_version=opset_version, input_names=["input"],
                              output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                              do_constant_folding=True)
    finally:
        module.train(was_training)
    return buffer.getvalue()
