import ArgumentParser

/// The `mesgate` executable: wires the store, the gRPC server and the services together.
@main
struct MESGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesgate",
        abstract: "The gateway between a plant's MES and Odoo: gRPC ingest into a lot/serial genealogy store.",
        version: "0.1.0",
        subcommands: [
            ServeCommand.self, HubCommand.self, HoldCommand.self, ReleaseCommand.self, HistoryCommand.self,
            LotsCommand.self, ExceptionsCommand.self, MasterDataCommand.self,
            OutboxCommand.self, AuditCommand.self,
            CheckCommand.self,
            EventCommand.self, ReconcileCommand.self, TraceCommand.self, ExportCommand.self, ImportEPCISCommand.self,
            BackupCommand.self, RestoreCommand.self, DemoCommand.self, LoadCommand.self, TraceBenchCommand.self,
        ],
        defaultSubcommand: ServeCommand.self
    )
}
