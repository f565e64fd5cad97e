// The only C in Shoal: what Swift cannot do safely or at all, split by concern.
//   shoal_signals.h  the fault handler and the registry of generated code it consults (signals.c)
//   shoal_entry.h    entering generated code, with register canaries checked (entry.c)
//   shoal_fiber.h    fibers, the yield and fuel builtins, stack limits (fiber.c)
//   shoal_ring.h     io_uring through liburing (ring.c)
//   shoal_worker.h   the scheduler worker owning the calling thread (worker.c)
//   shoal_nowait.h   non-blocking attempts for WASI's inline I/O fast path (static inline)
// Offsets the C side shares with RuntimeABI live in one private header, shoal_abi.h.
#pragma once
#include "shoal_crc.h"
#include "shoal_entry.h"
#include "shoal_fiber.h"
#include "shoal_nowait.h"
#include "shoal_ring.h"
#include "shoal_signals.h"
#include "shoal_worker.h"
