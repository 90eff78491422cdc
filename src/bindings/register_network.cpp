// The native Network as one Python class, `_core.Network(dtype)`, holding the float32 or
// float64 engine. Layers are added in topological order and refer to earlier layers by id.
// Parameter arrays stay owned by Python; the Network keeps a reference to each one so its
// memory outlives the engine that updates it in place.
#include <pybind11/stl.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <variant>

#include "arrays.h"
#include "mpi_gradient_allreduce.h"
#include "optimizer_object.h"
#include "python_callbacks.h"
#include "engine/Network.h"
#include "engine/layer/ActivationLayer.h"
#include "engine/layer/Affine.h"
#include "engine/layer/BatchNormalization.h"
#include "engine/layer/CallbackLayer.h"
#include "engine/layer/ColumnGather.h"
#include "engine/layer/Dense.h"
#include "engine/lowp/QuantizedDense.h"
#include "engine/layer/Dropout.h"
#include "engine/layer/Embedding.h"
#include "engine/layer/LayerNormalization.h"
#include "engine/layer/Merge.h"
#include "engine/layer/PReLU.h"
#include "specs.h"

namespace fd::bind {

namespace {

// A weight stored as (rows, cols), from a checked array; the regularizer and the constraint are
// each None, a built-in's config dict, or a Python callable (run through python_callbacks.h).
template <typename T>
Parameter<T> parameter_of(Array<T> a, const char* what, Index rows, Index cols, bool one_dimensional,
                          const py::handle& regularizer, const py::handle& constraint, bool trainable,
                          std::vector<py::object>& keep_alive) {
  if (!a.writeable()) throw ShapeError(std::string(what) + ": array must be writeable");
  keep_alive.push_back(a);
  Parameter<T> p;
  p.value = a.mutable_data();
  p.rows = one_dimensional ? 1 : rows;
  p.cols = cols;
  p.one_dimensional = one_dimensional;
  p.trainable = trainable;
  const Shape shape(a.shape(), a.shape() + a.ndim());
  if (is_callback(regularizer))
    p.custom_regularizer = python_penalty<T>(py::reinterpret_borrow<py::object>(regularizer), shape,
                                             std::string(what) + " regularizer");
  else
    p.regularizer = regularizer_spec(regularizer);
  if (is_callback(constraint))
    p.custom_constraint = python_constraint<T>(py::reinterpret_borrow<py::object>(constraint), shape,
                                               std::string(what) + " constraint");
  else
    p.constraint = constraint_spec(constraint);
  return p;
}

template <typename T>
Parameter<T> parameter(const py::handle& array, const char* what, Index rows, Index cols, bool one_dimensional,
                       const py::handle& regularizer, const py::handle& constraint, bool trainable,
                       std::vector<py::object>& keep_alive) {
  auto a = one_dimensional ? vector<T>(array, what, cols) : matrix<T>(array, what, rows, cols);
  return parameter_of<T>(a, what, rows, cols, one_dimensional, regularizer, constraint, trainable, keep_alive);
}

// A weight of any rank (a custom layer's): kept as (shape[0], the rest) from rank 2 on, else as one row.
template <typename T>
Parameter<T> any_rank_parameter(const py::handle& array, const py::handle& regularizer, const py::handle& constraint,
                                std::vector<py::object>& keep_alive) {
  auto a = exact<T>(array, "weight");
  const bool one_dimensional = a.ndim() < 2;
  const Index rows = one_dimensional ? 1 : a.shape(0);
  const Index cols = rows == 0 ? 0 : Index(a.size()) / rows;
  return parameter_of<T>(a, "weight", rows, cols, one_dimensional, regularizer, constraint, true, keep_alive);
}

// The activity regularizer of a layer: None, a built-in's config dict, or a Python callable.
template <typename T>
void set_activity_regularizer(Layer<T>& layer, const py::handle& regularizer) {
  if (is_callback(regularizer))
    layer.custom_activity_regularizer =
        python_penalty<T>(py::reinterpret_borrow<py::object>(regularizer), Shape{}, "activity regularizer");
  else
    layer.activity_regularizer = regularizer_spec(regularizer);
}

// Entry j of an optional per-weight list (None: no list).
py::object item_or_none(const py::object& list, size_t j, size_t count, const char* what) {
  if (list.is_none()) return py::none();
  auto items = py::cast<py::sequence>(list);
  if (py::len(items) != count)
    throw ShapeError(std::string(what) + ": expected one entry per weight (" + std::to_string(count) + "), got " +
                     std::to_string(py::len(items)));
  return items[j];
}

// The optional γ and β of a normalization layer (None: scale=False / center=False), as the
// engine's GammaBeta takes them.
template <typename T>
std::pair<std::optional<Parameter<T>>, std::optional<Parameter<T>>> gamma_beta(
    const py::object& gamma, const py::object& beta, Index width, const py::handle& gamma_regularizer,
    const py::handle& beta_regularizer, const py::handle& gamma_constraint, const py::handle& beta_constraint,
    bool trainable, std::vector<py::object>& keep_alive) {
  std::pair<std::optional<Parameter<T>>, std::optional<Parameter<T>>> weights;
  if (!gamma.is_none())
    weights.first = parameter<T>(gamma, "gamma", 1, width, true, gamma_regularizer, gamma_constraint, trainable,
                                 keep_alive);
  if (!beta.is_none())
    weights.second = parameter<T>(beta, "beta", 1, width, true, beta_regularizer, beta_constraint, trainable,
                                  keep_alive);
  return weights;
}

// One batch of one input and one target array for the latency entries (train_batch,
// evaluate_batch): the rows of both (arrays.h engine_rows, copies kept in `copies`) when they
// hold only finite values and, for sparse class targets (sparse_classes > 0), only integers in
// [0, sparse_classes); else no data, and the entry declines (returns None) so that the checked
// path converts or raises.
template <typename T, typename Net>
std::optional<Dataset<T>> ready_batch(const Net& net, const py::handle& x, const py::handle& y, Index sparse_classes,
                                      std::vector<T> (&copies)[2]) {
  if (net.num_inputs() != 1 || net.num_outputs() != 1) return std::nullopt;
  Index rows = 0, target_rows = 0;
  const T* inputs = engine_rows<T>(x, net.input_width(0), rows, copies[0]);
  const T* targets = inputs ? engine_rows<T>(y, net.target_cols(0), target_rows, copies[1]) : nullptr;
  if (!targets || target_rows != rows) return std::nullopt;
  const Index target_size = rows * net.target_cols(0);
  if (!all_finite(inputs, rows * net.input_width(0)) || !all_finite(targets, target_size)) return std::nullopt;
  for (Index i = 0; sparse_classes > 0 && i < target_size; ++i)
    if (!(targets[i] >= T(0) && targets[i] < T(sparse_classes) && targets[i] == std::floor(targets[i])))
      return std::nullopt;
  Dataset<T> data;
  data.inputs.push_back(inputs);
  data.targets.push_back(targets);
  data.rows = rows;
  return data;
}

// What `results` returns: (loss, per-output losses, metric results) averaged since the last reset.
template <typename Net>
py::tuple results_of(const Net& net) {
  return py::make_tuple(net.loss(), net.output_losses(), net.metric_results());
}

class PyNetwork {
 public:
  explicit PyNetwork(const std::string& dtype) {
    if (dtype == "float32") net_ = std::make_unique<Network<float>>();
    else if (dtype == "float64") net_ = std::make_unique<Network<double>>();
    else throw ConfigError("dtype must be 'float32' or 'float64', got '" + dtype + "'");
  }

  // Calls fn(network) with the engine of the right scalar type.
  template <typename Fn>
  decltype(auto) visit(Fn&& fn) {
    return std::visit([&](auto& net) -> decltype(auto) { return fn(*net); }, net_);
  }

  std::string dtype() const { return std::holds_alternative<std::unique_ptr<Network<float>>>(net_) ? "float32" : "float64"; }
  std::vector<py::object> keep_alive;

 private:
  std::variant<std::unique_ptr<Network<float>>, std::unique_ptr<Network<double>>> net_;
};

template <typename N>
using ScalarOf = typename N::Scalar;

template <template <typename> class LayerT, typename N, typename... Args>
int add(N& net, const std::vector<int>& inputs, Args&&... args) {
  return net.add_layer(std::make_unique<LayerT<ScalarOf<N>>>(std::forward<Args>(args)...), inputs);
}

Index width_of_input(PyNetwork& self, int id);

// What the latency entries train_batch and evaluate_batch share: the batch checked by
// ready_batch, the running means reset, run(net, batch) with the GIL released, then results();
// None, having run nothing, when ready_batch declines the data.
template <typename Run>
py::object run_one_batch(PyNetwork& self, const py::handle& x, const py::handle& y, Index sparse_classes, Run&& run) {
  return self.visit([&](auto& net) -> py::object {
    using T = ScalarOf<std::decay_t<decltype(net)>>;
    std::vector<T> copies[2];
    auto data = ready_batch<T>(net, x, y, sparse_classes, copies);
    if (!data) return py::none();
    net.reset_metrics();
    {
      py::gil_scoped_release release;
      run(net, *data);
    }
    return results_of(net);
  });
}

// A layer's compute dtype as the engine's precision: "bfloat16" (mixed_bfloat16) on float32 networks.
template <typename T>
ComputePrecision compute_precision(const std::string& compute_dtype) {
  if (compute_dtype == "bfloat16") {
    if (!std::is_same_v<T, float>) throw ConfigError("compute_dtype: bfloat16 needs a float32 network");
    return ComputePrecision::Bfloat16;
  }
  if (compute_dtype != "float32" && compute_dtype != "float64")
    throw ConfigError("compute_dtype: expected 'float32', 'float64' or 'bfloat16', got '" + compute_dtype + "'");
  return ComputePrecision::Native;
}

}  // namespace

void register_network(py::module_& m) {
  py::class_<MpiGradientAllreduce, std::shared_ptr<MpiGradientAllreduce>>(
      m, "MpiGradientAllreduce",
      "A native gradient hook for Network.set_gradient_hook: the sample-weighted mean of the fused gradients over "
      "MPICH communicators, with MPI loaded from `library`: one MPI_Iallreduce on `comm`, or shared-memory windows "
      "on `node_comm` (plus an MPI_Iallreduce on `cross_comm` between nodes); every wait ends after `timeout` s.")
      .def(py::init<const std::string&, int, int, int, int, double, std::optional<int>, std::optional<int>>(),
           py::arg("library"), py::arg("comm"), py::arg("float_type"), py::arg("double_type"), py::arg("sum_op"),
           py::arg("timeout"), py::arg("node_comm") = py::none(), py::arg("cross_comm") = py::none())
      .def_property_readonly("timeout", &MpiGradientAllreduce::timeout)
      .def_property_readonly("path", &MpiGradientAllreduce::path,
                             "'mpi', 'shared' (one node) or 'hierarchical' (shared memory within nodes, MPI between)")
      .def("average", [](MpiGradientAllreduce& self, py::array buffer) {
        // For tests: the same averaging on a 1-D float32/float64 array (gradients, then the count).
        if (!(buffer.flags() & py::array::c_style) || !buffer.writeable() || buffer.ndim() != 1 || buffer.shape(0) < 1)
          throw ShapeError("average: expected a writable contiguous 1-D array");
        py::gil_scoped_release release;
        if (buffer.dtype().is(py::dtype::of<float>())) self.average(static_cast<float*>(buffer.mutable_data()), buffer.shape(0));
        else if (buffer.dtype().is(py::dtype::of<double>())) self.average(static_cast<double*>(buffer.mutable_data()), buffer.shape(0));
        else throw ShapeError("average: expected float32 or float64");
      }, py::arg("buffer"))
      .def("gradient_buffer", [](py::object self_object, Index size, const py::dtype& dtype) -> py::array {
        // For tests and bench/scaling.py: the buffer a training step packs into (this rank's next
        // shared segment, valid until the average() after next; a new array on the "mpi" path).
        auto& self = self_object.cast<MpiGradientAllreduce&>();
        if (size < 1) throw ShapeError("gradient_buffer: size must be positive");
        const bool is_float = dtype.is(py::dtype::of<float>());
        if (!is_float && !dtype.is(py::dtype::of<double>())) throw ShapeError("gradient_buffer: expected float32 or float64");
        if (!self.packs_in_shared_memory()) return py::array(dtype, std::vector<py::ssize_t>{py::ssize_t(size)});
        void* data = is_float ? static_cast<void*>(self.gradient_buffer<float>(size))
                              : static_cast<void*>(self.gradient_buffer<double>(size));
        return py::array(dtype, std::vector<py::ssize_t>{py::ssize_t(size)}, std::vector<py::ssize_t>{py::ssize_t(dtype.itemsize())},
                         data, self_object);
      }, py::arg("size"), py::arg("dtype"));

  py::class_<PyNetwork>(m, "Network", "A compiled graph of layers with its losses, metrics and optimizer.")
      .def(py::init<const std::string&>(), py::arg("dtype") = "float32")
      .def_property_readonly("dtype", &PyNetwork::dtype)
      .def("add_input", [](PyNetwork& self, Index width) {
        if (width <= 0) throw ShapeError("add_input: width must be positive, got " + std::to_string(width));
        return self.visit([&](auto& net) { return add<InputLayer>(net, {}, width); });
      }, py::arg("width"))
      .def("add_dense", [](PyNetwork& self, int input, const py::array& kernel, const py::object& bias,
                           const py::dict& activation, const py::object& kernel_regularizer,
                           const py::object& bias_regularizer, const py::object& activity_regularizer,
                           const py::object& kernel_constraint, const py::object& bias_constraint, bool trainable,
                           const std::string& compute_dtype, Index rows_per_sample) {
        if (rows_per_sample <= 0)
          throw ShapeError("add_dense: rows_per_sample must be positive, got " + std::to_string(rows_per_sample));
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          if (kernel.ndim() != 2) throw ShapeError("kernel: expected a 2-D array, got shape " + shape_of(kernel));
          const Index rows = kernel.shape(0), cols = kernel.shape(1);
          auto k = parameter<T>(kernel, "kernel", rows, cols, false, kernel_regularizer, kernel_constraint, trainable,
                                self.keep_alive);
          std::optional<Parameter<T>> b;
          if (!bias.is_none())
            b = parameter<T>(bias, "bias", 1, cols, true, bias_regularizer, bias_constraint, trainable, self.keep_alive);
          auto layer = std::make_unique<Dense<T>>(std::move(k), std::move(b), activation_spec(activation), rows_per_sample);
          layer->set_compute_precision(compute_precision<T>(compute_dtype));
          set_activity_regularizer(*layer, activity_regularizer);
          return net.add_layer(std::move(layer), {input});
        });
      }, py::arg("input"), py::arg("kernel"), py::arg("bias"), py::arg("activation"),
         py::arg("kernel_regularizer") = py::none(), py::arg("bias_regularizer") = py::none(),
         py::arg("activity_regularizer") = py::none(), py::arg("kernel_constraint") = py::none(),
         py::arg("bias_constraint") = py::none(), py::arg("trainable") = true,
         py::arg("compute_dtype") = "float32", py::arg("rows_per_sample") = 1,
         "Dense; on inputs of rank > 2, each sample's rows_per_sample rows (its leading axes) are rows.")
      .def("add_quantized_dense", [](PyNetwork& self, int input,
                                     const py::array_t<std::int8_t, py::array::c_style>& kernel,
                                     const py::array_t<float, py::array::c_style | py::array::forcecast>& kernel_scale,
                                     const py::object& bias, const py::dict& activation, const py::object& bias_regularizer,
                                     const py::object& bias_constraint, bool trainable) {
        if (kernel.ndim() != 2) throw ShapeError("kernel: expected a 2-D int8 array, got shape " + shape_of(kernel));
        const Index rows = kernel.shape(0), cols = kernel.shape(1);
        if (kernel_scale.ndim() != 1 || kernel_scale.shape(0) != cols)
          throw ShapeError("kernel_scale: expected shape (" + std::to_string(cols) + ",), got " + shape_of(kernel_scale));
        if (rows != width_of_input(self, input))
          throw ShapeError("kernel: expected " + std::to_string(width_of_input(self, input)) + " rows, got " +
                           std::to_string(rows));
        std::vector<float> scale(kernel_scale.data(), kernel_scale.data() + cols);
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          std::optional<Parameter<T>> b;
          if (!bias.is_none())
            b = parameter<T>(bias, "bias", 1, cols, true, bias_regularizer, bias_constraint, trainable, self.keep_alive);
          return net.add_layer(std::make_unique<QuantizedDense<T>>(kernel.data(), rows, cols, std::move(scale),
                                                                   std::move(b), activation_spec(activation)),
                               {input});
        });
      }, py::arg("input"), py::arg("kernel"), py::arg("kernel_scale"), py::arg("bias"), py::arg("activation"),
         py::arg("bias_regularizer") = py::none(), py::arg("bias_constraint") = py::none(),
         py::arg("trainable") = true, "Keras's int8 Dense (quantize('int8')): int8 kernel, per-unit scales.")
      .def("add_embedding", [](PyNetwork& self, int input, const py::array& embeddings,
                               const py::object& embeddings_regularizer, const py::object& embeddings_constraint,
                               const py::object& activity_regularizer, bool trainable, const std::string& name) {
        const Index sequence = width_of_input(self, input);
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          if (embeddings.ndim() != 2)
            throw ShapeError("embeddings: expected a 2-D array, got shape " + shape_of(embeddings));
          auto table = parameter<T>(embeddings, "embeddings", embeddings.shape(0), embeddings.shape(1), false,
                                    embeddings_regularizer, embeddings_constraint, trainable, self.keep_alive);
          auto layer = std::make_unique<Embedding<T>>(std::move(table), sequence, name);
          set_activity_regularizer(*layer, activity_regularizer);
          return net.add_layer(std::move(layer), {input});
        });
      }, py::arg("input"), py::arg("embeddings"), py::arg("embeddings_regularizer") = py::none(),
         py::arg("embeddings_constraint") = py::none(), py::arg("activity_regularizer") = py::none(),
         py::arg("trainable") = true, py::arg("name") = "embedding",
         "Embedding: every input value of a sample is an id in [0, input_dim), replaced by its row of the "
         "(input_dim, output_dim) table; ids that are not integers or out of range raise ValueError/IndexError.")
      .def("add_column_gather", [](PyNetwork& self, int input, const std::string& kind,
                                   const std::vector<Index>& source) {
        const Index width = width_of_input(self, input);
        if (source.empty()) throw ShapeError(kind + ": no output columns");
        for (Index s : source)
          if (s < 0 || s >= width)
            throw OutOfRangeError(kind + ": source column " + std::to_string(s) + " is out of range [0, " +
                                  std::to_string(width) + ")");
        return self.visit([&](auto& net) { return add<ColumnGather>(net, {input}, kind, width, source); });
      }, py::arg("input"), py::arg("kind"), py::arg("source"),
         "A layer that moves values within each sample: output column j is input column source[j] "
         "(RepeatVector, Permute); kind names it in errors and layer_kinds.")
      .def("add_activation", [](PyNetwork& self, int input, const py::dict& activation, const py::object& activity_regularizer) {
        const Index width = width_of_input(self, input);
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          auto layer = std::make_unique<ActivationLayer<T>>(width, activation_spec(activation));
          set_activity_regularizer(*layer, activity_regularizer);
          return net.add_layer(std::move(layer), {input});
        });
      }, py::arg("input"), py::arg("activation"), py::arg("activity_regularizer") = py::none())
      .def("add_batch_normalization", [](PyNetwork& self, int input, const py::object& gamma, const py::object& beta,
                                         const py::array& moving_mean, const py::array& moving_variance,
                                         double momentum, double epsilon, const py::object& gamma_regularizer,
                                         const py::object& beta_regularizer, const py::object& gamma_constraint,
                                         const py::object& beta_constraint, const py::object& activity_regularizer,
                                         bool trainable) {
        const Index width = width_of_input(self, input);
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          auto [g, b] = gamma_beta<T>(gamma, beta, width, gamma_regularizer, beta_regularizer, gamma_constraint,
                                      beta_constraint, trainable, self.keep_alive);
          auto mean = parameter<T>(moving_mean, "moving_mean", 1, width, true, py::none(), py::none(), false,
                                   self.keep_alive);
          auto variance = parameter<T>(moving_variance, "moving_variance", 1, width, true, py::none(), py::none(),
                                       false, self.keep_alive);
          // A frozen BatchNormalization normalizes with its moving statistics even while training.
          auto layer = std::make_unique<BatchNormalization<T>>(width, std::move(g), std::move(b), std::move(mean),
                                                               std::move(variance), momentum, epsilon, !trainable);
          set_activity_regularizer(*layer, activity_regularizer);
          return net.add_layer(std::move(layer), {input});
        });
      }, py::arg("input"), py::arg("gamma"), py::arg("beta"), py::arg("moving_mean"), py::arg("moving_variance"),
         py::arg("momentum") = 0.99, py::arg("epsilon") = 1e-3, py::arg("gamma_regularizer") = py::none(),
         py::arg("beta_regularizer") = py::none(), py::arg("gamma_constraint") = py::none(),
         py::arg("beta_constraint") = py::none(), py::arg("activity_regularizer") = py::none(),
         py::arg("trainable") = true,
         "Batch normalization over the batch axis; gamma/beta may be None (scale/center off). The moving "
         "statistics are updated in place by training forward passes; trainable=False freezes the layer, which "
         "then normalizes with them even while training.")
      .def("add_layer_normalization", [](PyNetwork& self, int input, const py::object& gamma, const py::object& beta,
                                         double epsilon, const py::object& gamma_regularizer,
                                         const py::object& beta_regularizer, const py::object& gamma_constraint,
                                         const py::object& beta_constraint, const py::object& activity_regularizer,
                                         bool trainable) {
        const Index width = width_of_input(self, input);
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          auto [g, b] = gamma_beta<T>(gamma, beta, width, gamma_regularizer, beta_regularizer, gamma_constraint,
                                      beta_constraint, trainable, self.keep_alive);
          auto layer = std::make_unique<LayerNormalization<T>>(width, std::move(g), std::move(b), epsilon);
          set_activity_regularizer(*layer, activity_regularizer);
          return net.add_layer(std::move(layer), {input});
        });
      }, py::arg("input"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon") = 1e-3,
         py::arg("gamma_regularizer") = py::none(), py::arg("beta_regularizer") = py::none(),
         py::arg("gamma_constraint") = py::none(), py::arg("beta_constraint") = py::none(),
         py::arg("activity_regularizer") = py::none(), py::arg("trainable") = true,
         "Layer normalization over the features of each sample; gamma/beta may be None (scale/center off).")
      .def("add_prelu", [](PyNetwork& self, int input, const py::array& alpha, const py::object& alpha_regularizer,
                           const py::object& alpha_constraint, const py::object& activity_regularizer, bool trainable) {
        const Index width = width_of_input(self, input);
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          const Index size = alpha.ndim() == 1 && alpha.shape(0) == 1 ? 1 : width;
          auto a = parameter<T>(alpha, "alpha", 1, size, true, alpha_regularizer, alpha_constraint, trainable,
                                self.keep_alive);
          auto layer = std::make_unique<PReLU<T>>(width, std::move(a));
          set_activity_regularizer(*layer, activity_regularizer);
          return net.add_layer(std::move(layer), {input});
        });
      }, py::arg("input"), py::arg("alpha"), py::arg("alpha_regularizer") = py::none(),
         py::arg("alpha_constraint") = py::none(), py::arg("activity_regularizer") = py::none(),
         py::arg("trainable") = true,
         "PReLU with alpha of shape (features,), or (1,) for one alpha shared by all features.")
      .def("add_affine", [](PyNetwork& self, int input, const std::string& kind, const py::object& a,
                            const py::object& b) {
        const Index width = width_of_input(self, input);
        AffineKind affine_kind;
        if (kind == "multiply_add") affine_kind = AffineKind::MultiplyAdd;
        else if (kind == "subtract_divide") affine_kind = AffineKind::SubtractDivide;
        else throw UnknownNameError("add_affine: kind must be 'multiply_add' or 'subtract_divide', got '" + kind + "'");
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          auto a_values = vector<T>(a, "a", width);
          auto b_values = vector<T>(b, "b", width);
          self.keep_alive.push_back(a_values);
          self.keep_alive.push_back(b_values);
          return add<Affine>(net, {input}, width, affine_kind, a_values.data(), b_values.data());
        });
      }, py::arg("input"), py::arg("kind"), py::arg("a"), py::arg("b"),
         "A fixed per-feature affine map (Normalization, Rescaling): kind 'multiply_add' is x * a + b, "
         "'subtract_divide' is (x - a) / b. a and b (one value per feature, the network's dtype) are read in "
         "place on every call: writing into them changes the layer.")
      .def("add_dropout", [](PyNetwork& self, int input, double rate) {
        const Index width = width_of_input(self, input);
        return self.visit([&](auto& net) { return add<Dropout>(net, {input}, width, rate); });
      }, py::arg("input"), py::arg("rate"))
      .def("add_gaussian_noise", [](PyNetwork& self, int input, double stddev) {
        const Index width = width_of_input(self, input);
        return self.visit([&](auto& net) { return add<GaussianNoise>(net, {input}, width, stddev); });
      }, py::arg("input"), py::arg("stddev"))
      .def("add_merge", [](PyNetwork& self, const std::string& kind, const std::vector<int>& inputs) {
        if (inputs.empty()) throw ShapeError("add_merge: no inputs");
        // Elementwise merges take the first input's width; the engine checks the others against it.
        Index width = width_of_input(self, inputs[0]);
        if (kind == "concatenate")
          for (size_t k = 1; k < inputs.size(); ++k) width += width_of_input(self, inputs[k]);
        static const std::pair<const char*, MergeKind> kinds[] = {
            {"add", MergeKind::Add}, {"subtract", MergeKind::Subtract}, {"multiply", MergeKind::Multiply},
            {"average", MergeKind::Average}, {"maximum", MergeKind::Maximum}, {"minimum", MergeKind::Minimum}};
        return self.visit([&](auto& net) {
          if (kind == "concatenate") return add<Concatenate>(net, inputs, width);
          for (const auto& [name, merge] : kinds)
            if (kind == name) return add<ElementwiseMerge>(net, inputs, width, merge);
          throw UnknownNameError("add_merge: unknown merge '" + kind + "'");
        });
      }, py::arg("kind"), py::arg("inputs"))
      .def("add_output", [](PyNetwork& self, int layer, const py::object& loss, double loss_weight, Index target_cols) {
        if (is_callback(loss)) {
          self.visit([&](auto& net) {
            using T = ScalarOf<std::decay_t<decltype(net)>>;
            const Index cols = target_cols > 0 ? target_cols : net.layer_width(layer);
            net.add_output(layer, python_loss<T>(loss), cols, loss_weight);
          });
          return;
        }
        std::optional<LossSpec> spec;
        if (!loss.is_none()) spec = loss_spec(loss.cast<py::dict>());
        self.visit([&](auto& net) { net.add_output(layer, spec, loss_weight); });
      }, py::arg("layer"), py::arg("loss") = py::none(), py::arg("loss_weight") = 1.0, py::arg("target_cols") = -1,
         "Marks a layer as an output. loss: None (predicted only), a built-in's config dict, or a Python callable "
         "loss(y_true, y_pred, sample_weight or None, with_grad) -> (reduced loss, dLoss/dy_pred or None), which "
         "reads target_cols target columns (default: the layer's width).")
      .def("add_python_layer", [](PyNetwork& self, const std::vector<int>& inputs, Index width,
                                  const py::object& forward, const py::object& backward, const py::list& weights,
                                  const py::object& regularizers, const py::object& constraints,
                                  const py::object& activity_regularizer, const std::string& name) {
        if (width <= 0) throw ShapeError("add_python_layer: width must be positive, got " + std::to_string(width));
        if (inputs.empty()) throw ShapeError("add_python_layer: no inputs");
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          std::vector<Parameter<T>> parameters;
          for (size_t j = 0; j < weights.size(); ++j)
            parameters.push_back(any_rank_parameter<T>(
                weights[j], item_or_none(regularizers, j, weights.size(), "add_python_layer: regularizers"),
                item_or_none(constraints, j, weights.size(), "add_python_layer: constraints"), self.keep_alive));
          auto layer = std::make_unique<CallbackLayer<T>>(width, python_forward<T>(forward, name),
                                                          python_backward<T>(backward, name), std::move(parameters));
          set_activity_regularizer(*layer, activity_regularizer);
          return net.add_layer(std::move(layer), inputs);
        });
      }, py::arg("inputs"), py::arg("width"), py::arg("forward"), py::arg("backward"), py::arg("weights") = py::list(),
         py::arg("regularizers") = py::none(), py::arg("constraints") = py::none(),
         py::arg("activity_regularizer") = py::none(), py::arg("name") = "python layer",
         "A layer computed by Python callbacks, once per batch with the GIL taken only for them. "
         "forward(inputs, training, differentiate) -> output (batch, width): inputs are read-only (batch, width_k) "
         "views of this batch; differentiate is None when no backward follows, else one bool per input telling "
         "whether backward must return its gradient. backward(output_grad) -> (input gradients (None where not "
         "needed), weight gradients). weights: the trainable arrays (updated in place by the optimizer, in the "
         "order of set_optimizer's list); regularizers/constraints: one entry per weight (None, a config dict or a "
         "callable).")
      .def("add_metric", [](PyNetwork& self, int output, const py::dict& metric) {
        self.visit([&](auto& net) { net.add_metric(output, metric_spec(metric)); });
      }, py::arg("output"), py::arg("metric"))
      .def("set_optimizer", [](PyNetwork& self, const py::object& optimizer, const py::list& weights,
                               const py::object& indices) {
        auto& shared = optimizer.cast<OptimizerObject&>();
        if (shared.dtype() != self.dtype())
          throw ShapeError("set_optimizer: a " + shared.dtype() + " optimizer cannot train a " + self.dtype() +
                           " network");
        self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          std::vector<T*> order;
          for (const auto& w : weights) order.push_back(exact<T>(w, "weights").mutable_data());
          std::vector<Index> optimizer_index;
          if (indices.is_none()) {
            for (size_t i = 0; i < order.size(); ++i) optimizer_index.push_back(Index(i));
          } else {
            optimizer_index = indices.cast<std::vector<Index>>();
          }
          net.set_optimizer(&shared.template engine<T>(), order, optimizer_index);
        });
        // The engine optimizer lives as long as this object and is never replaced (optimizer_object.h).
        self.keep_alive.push_back(optimizer);
      }, py::arg("optimizer"), py::arg("weights"), py::arg("indices") = py::none(),
         "Trains with this built _core.Optimizer, whose parameter indices[i] (default: i) is weights[i]; the "
         "state stays shared.")
      .def("set_gradient_hook", [](PyNetwork& self, const py::object& hook) {
        self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          if (hook.is_none()) {
            net.set_gradient_hook(nullptr);
          } else if (py::isinstance<MpiGradientAllreduce>(hook)) {
            auto native = hook.cast<std::shared_ptr<MpiGradientAllreduce>>();
            typename std::decay_t<decltype(net)>::GradientBuffer buffer;
            if (native->packs_in_shared_memory())
              buffer = [native](Index size) { return native->template gradient_buffer<T>(size); };
            net.set_gradient_hook([native](T* gradients, Index size) { native->average(gradients, size); },
                                  std::move(buffer));
          } else if (PyCallable_Check(hook.ptr())) {
            py::handle fn = hook;  // kept alive by keep_alive below
            net.set_gradient_hook([fn](T* buffer, Index size) {
              PythonCall call;
              fn(py::array_t<T>({py::ssize_t(size)}, buffer, py::none()));  // a writable view, valid during the call
            });
          } else {
            throw ConfigError("set_gradient_hook: expected None, a MpiGradientAllreduce or a callable");
          }
        });
        if (!hook.is_none()) self.keep_alive.push_back(hook);
      }, py::arg("hook"),
         "After backward and before each update: hook(buffer) rewrites, in place, every trainable gradient packed "
         "in one 1-D array (set_optimizer's order) followed by the batch's sample count; None removes it.")
      .def("seed", [](PyNetwork& self, uint64_t seed) { self.visit([&](auto& net) { net.seed(seed); }); })
      .def("train", [](PyNetwork& self, const py::list& inputs, const py::list& targets, const py::object& sample_weight,
                       const py::object& index, Index batch_size, const py::object& learning_rates) {
        check_batch_size(batch_size);
        self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          std::vector<py::object> refs;
          Dataset<T> data = dataset<T>(net, inputs, targets, sample_weight, refs);
          if (data.targets.size() != net.num_outputs()) throw ShapeError("train: targets are required");
          const SampleOrder samples = sample_order(index, data.rows);
          if (samples.count == 0) throw ShapeError("train: no samples to train on");
          const Index steps = (samples.count + batch_size - 1) / batch_size;
          std::vector<double> lrs;  // a float (a constant rate) or one rate per step
          if (py::isinstance<py::float_>(learning_rates)) {
            lrs.assign(size_t(steps), learning_rates.cast<double>());
          } else {
            const auto per_step = vector<double>(learning_rates, "learning_rates", steps);
            lrs.assign(per_step.data(), per_step.data() + steps);
          }
          py::gil_scoped_release release;
          net.train(data, samples.order, samples.count, batch_size, lrs.data());
        });
      }, py::arg("inputs"), py::arg("targets"), py::arg("sample_weight"), py::arg("index"), py::arg("batch_size"),
         py::arg("learning_rates"))
      .def("evaluate", [](PyNetwork& self, const py::list& inputs, const py::list& targets, const py::object& sample_weight,
                          Index batch_size, const py::object& index) {
        check_batch_size(batch_size);
        self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          std::vector<py::object> refs;
          Dataset<T> data = dataset<T>(net, inputs, targets, sample_weight, refs);
          if (data.targets.size() != net.num_outputs()) throw ShapeError("evaluate: targets are required");
          const SampleOrder samples = sample_order(index, data.rows);
          if (samples.count == 0) throw ShapeError("evaluate: no samples to evaluate");
          py::gil_scoped_release release;
          net.evaluate(data, samples.order, samples.count, batch_size);
        });
      }, py::arg("inputs"), py::arg("targets"), py::arg("sample_weight"), py::arg("batch_size"),
         py::arg("index") = py::none())
      .def("predict", [](PyNetwork& self, const py::list& inputs, Index batch_size) {
        check_batch_size(batch_size);
        return self.visit([&](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          std::vector<py::object> refs;
          Dataset<T> data = dataset<T>(net, inputs, py::list(), py::none(), refs);
          if (data.rows == 0) throw ShapeError("predict: no samples");
          py::list results;
          std::vector<T*> outputs;
          for (size_t o = 0; o < net.num_outputs(); ++o) {
            Array<T> out({data.rows, net.output_width(o)});
            outputs.push_back(out.mutable_data());
            results.append(out);
          }
          {
            py::gil_scoped_release release;
            net.predict(data, batch_size, outputs);
          }
          return results;
        });
      }, py::arg("inputs"), py::arg("batch_size"))
      // The latency entries: one call per repeated predict / train_on_batch / test_on_batch,
      // taking the arrays themselves (no lists; a copy only of an array that is not C-contiguous
      // T, see arrays.h engine_rows); anything else makes them return None, and the caller takes
      // the checked path.
      .def("predict_array", [](PyNetwork& self, const py::handle& x, Index batch_size) -> py::object {
        if (batch_size < 0)
          throw ConfigError("batch_size must be positive (or 0: all rows), got " + std::to_string(batch_size));
        return self.visit([&](auto& net) -> py::object {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          Dataset<T> data;
          std::vector<T> copy;
          const T* inputs = net.num_inputs() == 1 ? engine_rows<T>(x, net.input_width(0), data.rows, copy) : nullptr;
          if (!inputs) return py::none();
          data.inputs.push_back(inputs);
          py::list results(net.num_outputs());
          std::vector<T*> outputs;
          for (size_t o = 0; o < net.num_outputs(); ++o) {
            Array<T> out({data.rows, net.output_width(o)});
            outputs.push_back(out.mutable_data());
            results[o] = std::move(out);
          }
          {
            py::gil_scoped_release release;  // ParameterLock.h: taken without the GIL
            net.predict(data, batch_size == 0 ? data.rows : batch_size, outputs);
          }
          return std::move(results);
        });
      }, py::arg("x"), py::arg("batch_size"),
         "predict([x], batch_size) (0: all rows as one batch) for one input array of the network's width with at "
         "least one row, of its dtype or of integers; None (nothing run) for anything else.")
      .def("train_batch", [](PyNetwork& self, const py::handle& x, const py::handle& y, double learning_rate,
                             Index sparse_classes) {
        return run_one_batch(self, x, y, sparse_classes, [&](auto& net, const auto& data) {
          net.train(data, nullptr, data.rows, data.rows, &learning_rate);
        });
      }, py::arg("x"), py::arg("y"), py::arg("learning_rate"), py::arg("sparse_classes") = 0,
         "reset_metrics(), one training step on all rows of x and y, then results(); None (nothing run) unless the "
         "network has one input and one output, x and y are arrays of its widths (of its dtype or of integers) with "
         "the same rows, all finite, and (sparse_classes > 0) y holds integers in [0, sparse_classes).")
      .def("evaluate_batch", [](PyNetwork& self, const py::handle& x, const py::handle& y,
                                Index sparse_classes) {
        return run_one_batch(self, x, y, sparse_classes, [](auto& net, const auto& data) {
          net.evaluate(data, nullptr, data.rows, data.rows);
        });
      }, py::arg("x"), py::arg("y"), py::arg("sparse_classes") = 0,
         "reset_metrics(), evaluate on all rows of x and y as one batch, then results(); None as for train_batch.")
      .def("last_batch", [](PyNetwork& self) {
        return self.visit([](auto& net) {
          using T = ScalarOf<std::decay_t<decltype(net)>>;
          const Index rows = net.last_batch_rows();
          if (rows == 0) throw StateError("last_batch: no train or evaluate step has run since the last predict");
          py::list predictions, targets;
          for (size_t o = 0; o < net.num_outputs(); ++o) {
            auto values = net.last_predictions(o);
            Array<T> prediction({rows, Index(values.cols())});
            std::memcpy(prediction.mutable_data(), values.data(), sizeof(T) * size_t(values.size()));
            predictions.append(prediction);
            const Index cols = net.target_cols(o);
            Array<T> target({rows, cols});
            std::memcpy(target.mutable_data(), net.last_targets(o), sizeof(T) * size_t(rows * cols));
            targets.append(target);
          }
          py::object weights = py::none();
          if (const T* w = net.last_sample_weight()) {
            Array<T> copy(std::vector<py::ssize_t>{py::ssize_t(rows)});
            std::memcpy(copy.mutable_data(), w, sizeof(T) * size_t(rows));
            weights = copy;
          }
          return py::make_tuple(predictions, targets, weights);
        });
      }, "(predictions, targets, sample_weight or None) of the last batch that train/evaluate ran: copies; the "
         "predictions come from that step's forward pass, before its update")
      .def("reset_metrics", [](PyNetwork& self) { self.visit([](auto& net) { net.reset_metrics(); }); })
      .def("results", [](PyNetwork& self) {
        return self.visit([](auto& net) { return results_of(net); });
      }, "(loss, per-output losses, metric results) averaged since the last reset_metrics()")
      .def_property_readonly("layer_kinds", [](PyNetwork& self) {
        return self.visit([](auto& net) {
          std::vector<std::string> kinds;
          for (size_t id = 0; id < net.num_layers(); ++id) kinds.push_back(net.layer_kind(int(id)));
          return kinds;
        });
      }, "The kind of each node in order ('InputLayer', 'Dense', ..., 'Callback' for a Python layer)")
      .def_property_readonly("custom_callbacks", [](PyNetwork& self) {
        return self.visit([](auto& net) { return net.custom_callbacks(); });
      }, "How many pieces call back into Python: layers, losses, regularizers and constraints")
      .def_property_readonly("num_inputs", [](PyNetwork& self) { return self.visit([](auto& net) { return net.num_inputs(); }); })
      .def_property_readonly("num_outputs", [](PyNetwork& self) { return self.visit([](auto& net) { return net.num_outputs(); }); })
      .def("target_cols", [](PyNetwork& self, size_t o) {
        return self.visit([&](auto& net) {
          if (o >= net.num_outputs()) throw OutOfRangeError("target_cols: no output " + std::to_string(o));
          return net.target_cols(o);
        });
      });
}

namespace {
Index width_of_input(PyNetwork& self, int id) {
  return self.visit([&](auto& net) { return net.layer_width(id); });
}
}  // namespace

}  // namespace fd::bind
