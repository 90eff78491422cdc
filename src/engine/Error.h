// The engine's exceptions, one type per kind of mistake, so that the bindings can raise the
// Python exception a Python user expects (module.cpp maps each one):
//   ShapeError       an array or size that does not fit (dtype, rank, shape, layout)  → ValueError
//   ConfigError      a setting out of its domain (a negative rate, a non-finite epsilon) → ValueError
//   UnknownNameError a name that names nothing (an unknown constraint or metric kind)  → ValueError
//   OutOfRangeError  an index or id past the end of what it indexes → IndexError (also a ValueError,
//                    which these were before the hierarchy existed)
//   StateError       a call made at the wrong time (training before an optimizer is set, an
//                    optimizer used before it is built, two trainings at once)         → RuntimeError
#pragma once

#include <stdexcept>
#include <string>

namespace fd {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ShapeError : Error {
  using Error::Error;
};

struct ConfigError : Error {
  using Error::Error;
};

struct UnknownNameError : ConfigError {
  using ConfigError::ConfigError;
};

struct OutOfRangeError : Error {
  using Error::Error;
};

struct StateError : Error {
  using Error::Error;
};

}  // namespace fd
