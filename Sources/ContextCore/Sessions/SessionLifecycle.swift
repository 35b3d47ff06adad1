/// An action that moves a session through its lifecycle.
public enum SessionAction: String, Sendable, CaseIterable {
    case start, pause, resume, complete, fail, rollback
}

/// The one table of session transitions (PROTOCOL §4). Every status change in the
/// domain asks this table; nothing else decides what is legal.
///
/// ```
/// start     idle → active
/// pause     active → paused
/// resume    paused → active
/// complete  active | paused → completed
/// fail      idle | active | paused → failed        (a reason is required)
/// rollback  idle | active | paused | failed → paused (idle if never started)
/// ```
/// Completed is final; failed is final except for a rollback to a checkpoint.
public enum SessionLifecycle {
    /// The status `action` leads to from `status`, or nil when the action is illegal
    /// there. `wasStarted` decides where a rollback lands (paused, or idle if the
    /// session never ran).
    public static func target(from status: SessionStatus, action: SessionAction, wasStarted: Bool) -> SessionStatus? {
        switch (action, status) {
        case (.start, .idle): .active
        case (.pause, .active): .paused
        case (.resume, .paused): .active
        case (.complete, .active), (.complete, .paused): .completed
        case (.fail, .idle), (.fail, .active), (.fail, .paused): .failed
        case (.rollback, .idle), (.rollback, .active), (.rollback, .paused), (.rollback, .failed):
            wasStarted ? .paused : .idle
        default: nil
        }
    }

    /// The actions legal from `status`, in table order.
    public static func allowedActions(from status: SessionStatus) -> [SessionAction] {
        SessionAction.allCases.filter { target(from: status, action: $0, wasStarted: true) != nil }
    }

    /// The target status, or `invalidTransition` naming the allowed actions.
    static func check(_ session: Session, _ action: SessionAction) throws(DomainError) -> SessionStatus {
        guard let to = target(from: session.status, action: action, wasStarted: session.startedAt != nil) else {
            throw .invalidTransition(
                id: session.id, from: session.status.rawValue, action: action.rawValue,
                allowed: allowedActions(from: session.status).map(\.rawValue))
        }
        return to
    }
}
