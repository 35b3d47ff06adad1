// The conversation store provides the session interface (its methods live with
// ConversationStore in Memory/ConversationStore.swift).
extension ConversationStore: SessionConversationAccess {}
