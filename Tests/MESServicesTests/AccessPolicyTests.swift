import GRPCServer
import NIOCore
import Testing

@testable import MESServices

@Suite struct AccessPolicyTests {
    static let publish = "/mes.v1.EventIngest/Publish"
    static let stream = "/mes.v1.EventIngest/PublishStream"
    static let subscribe = "/mes.v1.WorkOrders/Subscribe"
    static let list = "/mes.v1.WorkOrders/List"
    static let trace = "/mes.v1.Genealogy/Trace"
    static let history = "/mes.v1.Genealogy/LotHistory"
    static let export = "/mes.v1.Genealogy/Export"
    static let hold = "/mes.v1.Quality/PlaceHold"
    static let release = "/mes.v1.Quality/ReleaseHold"
    static let masterList = "/mes.v1.MasterData/List"
    static let masterSubscribe = "/mes.v1.MasterData/Subscribe"
    static let all = [
        publish, stream, subscribe, list, trace, history, export, hold, release, masterList, masterSubscribe,
    ]

    /// DESIGN.md's Security model, method by method.
    static let allowed: [Role: Set<String>] = [
        .mes: [publish, stream, subscribe, list, masterList, masterSubscribe],
        .quality: [trace, hold, release, masterList, masterSubscribe],
        .auditor: [trace, history, export],
        .admin: Set(all),
    ]

    @Test(arguments: Role.allCases)
    func eachRoleMayCallExactlyItsMethods(role: Role) {
        for path in Self.all {
            #expect(AccessPolicy.allows(role, path) == Self.allowed[role]!.contains(path), "\(role) \(path)")
        }
    }

    @Test func healthAndReflectionAreOpen() {
        #expect(AccessPolicy.requirement(for: "/grpc.health.v1.Health/Check") == .open)
        #expect(AccessPolicy.requirement(for: "/grpc.health.v1.Health/Watch") == .open)
        #expect(AccessPolicy.requirement(for: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") == .open)
        #expect(
            AccessPolicy.requirement(for: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") == .open)
    }

    @Test func anUnknownMethodNeedsAdmin() {
        #expect(AccessPolicy.requirement(for: "/mes.v1.Outbox/Replay") == .roles([]))
        #expect(AccessPolicy.allows(.admin, "/mes.v1.Outbox/Replay"))
        #expect(!AccessPolicy.allows(.mes, "/mes.v1.Outbox/Replay"))
    }
}

@Suite struct AccessGuardTests {
    static let table = try! TokenTable.parse(  // literal file: parses
        """
        line-1 mes \(TokenTable.hashLine(token: "mes-token"))
        auditors auditor \(TokenTable.hashLine(token: "audit-token"))
        """)
    static let peer = "[IPv4]127.0.0.1/127.0.0.1:50000"

    func makeGuard(tokens: TokenTable? = table, maxFailures: Int = 3) -> AccessGuard {
        AccessGuard(
            tokens: tokens, maxFailuresPerHost: maxFailures, failureWindow: .seconds(60),
            logger: .init(label: "test"), nowMs: { 0 })
    }

    @Test func decisions() {
        let access = makeGuard()
        #expect(
            access.decide(path: AccessPolicyTests.publish, peer: Self.peer, authorization: "Bearer mes-token")
                == .allow(client: "line-1"))
        #expect(
            access.decide(path: AccessPolicyTests.publish, peer: Self.peer, authorization: "bearer audit-token")
                == .refuse(
                    GRPCStatus(.permissionDenied, "role auditor may not call \(AccessPolicyTests.publish)"),
                    reason: "role_not_allowed"))
        guard
            case .refuse(let status, _) = access.decide(
                path: AccessPolicyTests.publish, peer: Self.peer, authorization: nil)
        else {
            Issue.record("no token was let through")
            return
        }
        #expect(status.code == .unauthenticated)
        #expect(
            access.decide(path: "/grpc.health.v1.Health/Check", peer: Self.peer, authorization: nil)
                == .allow(client: nil))
    }

    @Test func wrapKeepsEveryMethodAndNotesNoClientBeforeACall() {
        let access = makeGuard()
        let methods = access.wrap([
            GRPCMethod(path: AccessPolicyTests.publish, requests: .one) { _, _ in NoHandler() },
            GRPCMethod(path: "/grpc.health.v1.Health/Check", requests: .one) { _, _ in NoHandler() },
        ])
        #expect(methods.map(\.path) == [AccessPolicyTests.publish, "/grpc.health.v1.Health/Check"])
        #expect(access.clientActivity.isEmpty)
    }

    @Test func withoutATokenFileEverythingIsAllowed() {
        let access = makeGuard(tokens: nil)
        #expect(!access.authenticationEnabled)
        #expect(
            access.decide(path: AccessPolicyTests.export, peer: Self.peer, authorization: nil) == .allow(client: nil))
    }

    @Test func repeatedFailuresThrottleNewCredentialsButNotTheHostsKnownClients() {
        let access = makeGuard(maxFailures: 3)
        // A MES line behind the plant's NAT authenticates first.
        #expect(
            access.decide(path: AccessPolicyTests.publish, peer: Self.peer, authorization: "Bearer mes-token")
                == .allow(client: "line-1"))
        for _ in 0..<3 {
            guard
                case .refuse(let status, _) = access.decide(
                    path: AccessPolicyTests.publish, peer: Self.peer, authorization: "Bearer wrong")
            else { return #expect(Bool(false)) }
            #expect(status.code == .unauthenticated)
        }
        // Throttled now: the line that authenticated from this address before goes on (any port) ...
        #expect(
            access.decide(
                path: AccessPolicyTests.publish, peer: "[IPv4]127.0.0.1/127.0.0.1:50001",
                authorization: "Bearer mes-token") == .allow(client: "line-1"))
        // ... while guesses, and credentials never seen from this address, wait for the window.
        for authorization in ["Bearer wrong", "Bearer audit-token", nil] {
            guard
                case .refuse(let status, let reason) = access.decide(
                    path: AccessPolicyTests.export, peer: "[IPv4]127.0.0.1/127.0.0.1:50002",
                    authorization: authorization)
            else { return #expect(Bool(false), "\(authorization ?? "none") was let in") }
            #expect(status.code == .resourceExhausted)
            #expect(reason == "locked_out")
        }
        #expect(
            access.decide(
                path: AccessPolicyTests.export, peer: "[IPv4]127.0.0.2/127.0.0.2:50001",
                authorization: "Bearer audit-token") == .allow(client: "auditors"))
        #expect(access.recentFailures.isEmpty)  // decide alone does not log; the wrapper does
    }

    @Test func replacingTokensTakesEffectForTheNextCall() throws {
        let access = makeGuard()
        access.replaceTokens(try TokenTable.parse("line-1 mes \(TokenTable.hashLine(token: "rotated"))"))
        #expect(
            access.decide(path: AccessPolicyTests.publish, peer: Self.peer, authorization: "Bearer rotated")
                == .allow(client: "line-1"))
        if case .allow = access.decide(
            path: AccessPolicyTests.publish, peer: Self.peer, authorization: "Bearer mes-token")
        {
            Issue.record("the old token still works")
        }
    }
}

final class NoHandler: GRPCCallHandler {
    func receive(_ message: ByteBuffer) {}
    func endOfInput() {}
    func cancelled() {}
}
