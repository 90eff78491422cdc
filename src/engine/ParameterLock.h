// The one reader-writer lock over every weight array the engine updates in place.
//
// Readers: Network::predict and Network::evaluate (they read weights and, for
// BatchNormalization, the moving statistics). Writers: Network::train and the Python-facing
// optimizer (apply, reconfigure, set_slots, ...). So a prediction never sees a half-applied
// step, and a step never runs while a prediction reads. Predictions among themselves run in
// parallel. The lock is process-wide rather than per network because networks share weight
// arrays (the inference and training networks of one model, models built on shared layers),
// and training is rare next to prediction in a serving process.
//
// Take it with the GIL released (engine code runs without the GIL; bindings release it first):
// a training step that calls back into Python takes the GIL while holding this lock.
#pragma once

#include <shared_mutex>

namespace fd {

inline std::shared_mutex& parameter_lock() {
  static std::shared_mutex lock;
  return lock;
}

}  // namespace fd
