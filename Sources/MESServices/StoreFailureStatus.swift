import GRPCServer
import GenealogyStore

extension GRPCStatus {
    /// A store failure as a client sees it, always UNAVAILABLE (retry): a full queue and too many
    /// queries say so, a closing store says the server is shutting down, anything else says
    /// `otherwise` (the details go to the log, not to the client).
    static func storeUnavailable(_ error: GenealogyStoreError, otherwise: String) -> GRPCStatus {
        if error.code == .queueFull { return GRPCStatus(.unavailable, "the store's queue is full; retry") }
        if error.code == .busy { return GRPCStatus(.unavailable, error.message) }
        if error.code == .closed { return GRPCStatus(.unavailable, EventIngestService.shuttingDown) }
        return GRPCStatus(.unavailable, otherwise)
    }
}
