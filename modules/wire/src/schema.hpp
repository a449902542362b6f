#pragma once
// The generated Cap'n Proto code is third-party style code: keep the project's strict warnings off
// it. Private to the wire module; public headers never include this.
#pragma GCC system_header

#include <capnp/message.h>

#include "envelope.capnp.h"
