// Activation checkpointing of a decoder layer (MusicgenDecoder::setCheckpointLayers), as
// torch.utils.checkpoint: the forward runs without a graph and saves only the layer's input; the backward
// recomputes the layer under autograd and differentiates it. The layer's LoRA factors are inputs of the
// node, so their gradients flow to the optimiser's leaves even when the input needs none (the first layer).
// custom_function.h needs the whole ATen API: this file compiles alone (engine/CMakeLists.txt).
#undef TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include "lm/decoder.h"

namespace tmk {

namespace {

// The recomputation: the layer with what it reads besides its input (the encoder states, the causal mask).
struct LayerRecipe : torch::CustomClassHolder {
    std::function<at::Tensor(const at::Tensor&)> run;
};

struct CheckpointedLayerFunction : torch::autograd::Function<CheckpointedLayerFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, at::TensorList factors,
        const c10::intrusive_ptr<LayerRecipe>& recipe)
    {
        std::vector<at::Tensor> saved { x };
        saved.insert(saved.end(), factors.begin(), factors.end());
        ctx->save_for_backward(saved);
        ctx->saved_data["recipe"] = at::IValue::make_capsule(recipe);
        return recipe->run(x); // grad mode is off here: no activations are kept
    }

    static torch::autograd::variable_list backward(
        torch::autograd::AutogradContext* ctx, torch::autograd::variable_list gradOutputs)
    {
        const torch::autograd::variable_list saved = ctx->get_saved_variables();
        const auto recipe = c10::static_intrusive_pointer_cast<LayerRecipe>(ctx->saved_data["recipe"].toCapsule());
        const bool inputNeedsGrad = saved[0].requires_grad();
        at::Tensor input = saved[0].detach().requires_grad_(inputNeedsGrad);
        at::Tensor output;
        {
            at::AutoGradMode enable(true);
            output = recipe->run(input);
        }
        std::vector<at::Tensor> wrt;
        if (inputNeedsGrad) wrt.push_back(input);
        for (size_t i = 1; i < saved.size(); ++i)
            if (saved[i].requires_grad()) wrt.push_back(saved[i]);
        torch::autograd::variable_list grads;
        if (!wrt.empty())
            grads = torch::autograd::grad({ output }, wrt, { gradOutputs[0] }, /*retain_graph=*/false,
                /*create_graph=*/false, /*allow_unused=*/true);
        // One gradient per forward input: x, each factor, and none for the recipe.
        torch::autograd::variable_list result;
        size_t next = 0;
        result.push_back(inputNeedsGrad ? grads[next++] : at::Tensor());
        for (size_t i = 1; i < saved.size(); ++i)
            result.push_back(saved[i].requires_grad() ? grads[next++] : at::Tensor());
        result.emplace_back();
        return result;
    }
};

} // namespace

at::Tensor MusicgenDecoder::checkpointedLayer(
    size_t i, const at::Tensor& x, const DecoderState& state, const at::Tensor& causal) const
{
    auto recipe = c10::make_intrusive<LayerRecipe>();
    recipe->run = [this, i, state, causal](const at::Tensor& input) {
        DecoderState copy = state; // teacher forcing: no cache, so the layer only reads the encoder states
        return layerForward(i, input, copy, causal);
    };
    const std::vector<at::Tensor> factors = layerLoraTensors(i);
    return CheckpointedLayerFunction::apply(x, at::TensorList(factors), recipe);
}

} // namespace tmk
