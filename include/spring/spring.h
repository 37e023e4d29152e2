/**
 * @file spring.h
 * @brief The whole public interface of springvm.
 *
 * springvm implements the Spring virtual memory system (Khalidi and Nelson,
 * SMLI TR-93-9) as an embeddable library: address spaces mapping memory
 * objects, caches of page frames kept coherent by external pagers, the bind
 * protocol with cache-rights capabilities, and a machine-independent HAT
 * layer.  See docs/interfaces.md for the paper's methods and their C
 * counterparts.
 */
#ifndef SPRING_SPRING_H
#define SPRING_SPRING_H

#include <spring/common.h>
#include <spring/error.h>
#include <spring/hat.h>
#include <spring/pager.h>
#include <spring/cache.h>
#include <spring/vmm.h>
#include <spring/as.h>
#include <spring/store.h>
#include <spring/plugin.h>
#include <spring/stack.h>
#include <spring/trace.h>
#include <spring/file.h>
#include <spring/swap.h>

/** @brief The library version as a string. */
#define SPRING_VERSION_STRING "0.1.0"

#endif /* SPRING_SPRING_H */
