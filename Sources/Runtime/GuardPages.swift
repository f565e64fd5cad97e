/// Whether a region puts inaccessible (PROT_NONE) guard pages around the parts of its slots: below
/// every fiber stack, and between a slot's context, stack and memory and the next slot, so that
/// an overrun of any part faults instead of reaching a neighbour (see `SlotLayout`).
///
/// Guards cost no memory, only address space and memory mappings: each one splits the region's
/// mapping, and a process may have at most vm.max_map_count mappings (65,530 by default). With
/// guards a slot costs up to `Region.mappingsPerSlot` mappings, so the default limit holds about
/// 10,000 slots; see `MapBudget`.
public enum GuardPages: String, Sendable, CaseIterable {
    /// Guards on every slot; creating the region fails with `MapBudgetExceeded` (which says what
    /// vm.max_map_count the slot count needs) if the process's mapping budget cannot hold them.
    /// The default.
    case always
    /// Guards if the budget holds them, none otherwise (`Region.hasGuardPages` says which).
    case auto
    /// No guards: for densities beyond any mapping budget (a million instances). Bounded heaps
    /// then rely on the code generator's checks alone — every memory access is bounds-checked
    /// and every function entry checks the stack, stopping `Execution.hostStackMargin` bytes
    /// before the stack's end — which is what keeps a guest inside its slot in any mode; the
    /// guards catch bugs in those checks and in host code running on the fiber.
    case never
}
