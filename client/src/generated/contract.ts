// Generated from contract/ by client/scripts/generate.ts (npm run build); do not edit.

/** Every operation: `POST /api/v2/ops/<name>` with `input`, answering `output`. */
export interface OperationTypes {
  "system.status": {
    input: Record<string, never>;
    output: {
      version: string;
      startedAt: string;
      uptimeSeconds: number;
      mode: "desktop" | "headless";
      services: Array<{
        name: string;
        state: "idle" | "starting" | "running" | "degraded" | "stopping" | "stopped" | "failed";
        detail?: string;
      }>;
      redis: {
        configured: boolean;
        connected: boolean;
        status: string;
      };
      /** Whether the server speaks HTTPS/WSS, and its certificate fingerprint */
      tls: {
        enabled: boolean;
        selfSigned: boolean;
        /** SHA-256 of the certificate the server presents (AB:CD:...): compare it, or pin it in clients */
        fingerprint256: string | null;
      };
    };
    minRole: "viewer";
    mutating: false;
  };
  "system.config": {
    input: Record<string, never>;
    output: {
      host: string;
      port: number;
      lanAccess: boolean;
      dataDir: string;
      redisConfigured: boolean;
      logLevel: string;
      shutdownDeadlineMs: number;
      tls: "files" | "self-signed" | "off";
      publicNames: Array<string>;
      backupRoots: Array<string>;
      allowedTargets: Array<string>;
      /** Where settings came from, lowest precedence first */
      sources: Array<string>;
      retention: {
        /** Cron pattern of the daily maintenance job */
        schedule: string;
        cuts: Array<{
          name: string;
          tables: Array<string>;
          keeps: string;
        }>;
        capped: Array<{
          name: string;
          keeps: string;
        }>;
        lastRun: {
          at: string;
          cuts: Array<{
            name: string;
            removed: number;
          }>;
          freedPages: number;
          bytesBefore: number;
          bytesAfter: number;
        } | null;
      };
    };
    minRole: "viewer";
    mutating: false;
  };
  "keys.list": {
    input: {
      includeRevoked?: boolean;
    };
    output: {
      keys: Array<{
        id: string;
        name: string;
        role: "viewer" | "operator" | "admin";
        scopes: Array<string>;
        createdAt: string;
        lastUsedAt: string | null;
        revokedAt: string | null;
        apiVersion: "v1" | "v2" | null;
      }>;
    };
    minRole: "admin";
    mutating: false;
  };
  "keys.create": {
    input: {
      /** Something other than spaces */
      name: string;
      role: "viewer" | "operator" | "admin";
      scopes?: Array<string>;
      apiVersion?: "v1" | "v2";
    };
    output: {
      key: {
        id: string;
        name: string;
        role: "viewer" | "operator" | "admin";
        scopes: Array<string>;
        createdAt: string;
        lastUsedAt: string | null;
        revokedAt: string | null;
        apiVersion: "v1" | "v2" | null;
      };
      secret: string;
    };
    minRole: "admin";
    mutating: true;
  };
  "keys.revoke": {
    input: {
      id: string;
    };
    output: {
      key: {
        id: string;
        name: string;
        role: "viewer" | "operator" | "admin";
        scopes: Array<string>;
        createdAt: string;
        lastUsedAt: string | null;
        revokedAt: string | null;
        apiVersion: "v1" | "v2" | null;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "keys.pin": {
    input: {
      id: string;
      apiVersion: "v1" | "v2" | null;
    };
    output: {
      key: {
        id: string;
        name: string;
        role: "viewer" | "operator" | "admin";
        scopes: Array<string>;
        createdAt: string;
        lastUsedAt: string | null;
        revokedAt: string | null;
        apiVersion: "v1" | "v2" | null;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "keys.update": {
    input: {
      id: string;
      scopes: Array<string>;
    };
    output: {
      key: {
        id: string;
        name: string;
        role: "viewer" | "operator" | "admin";
        scopes: Array<string>;
        createdAt: string;
        lastUsedAt: string | null;
        revokedAt: string | null;
        apiVersion: "v1" | "v2" | null;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "audit.list": {
    input: {
      limit?: number;
      beforeSeq?: number;
      fleet?: boolean;
      /** With fleet: the previous page's nextCursor, the page after it */
      cursor?: string;
      /** With fleet: only rows before this instant (page with cursor: rows share instants) */
      beforeAt?: string;
      /** Only rows by this actor (e.g. key:<id>) */
      actor?: string;
      /** Only rows whose action starts with this (cache: cache.put, cache.delete, …; keys.create: that one) */
      action?: string;
      /** Only rows whose target holds this text */
      target?: string;
      /** Only rows at or after this instant */
      since?: string;
      /** Only rows before this instant */
      until?: string;
    };
    output: {
      entries: Array<{
        seq: number;
        at: string;
        actor: string;
        action: string;
        target: string | null;
        outcome: "ok" | "error";
        detail: string | null;
        hash: string;
        node?: string;
      }>;
      /** Every row the filters match */
      total: number;
      chainIntact: boolean;
      /** With fleet: pass as cursor for the next page; null on the last */
      nextCursor?: string | null;
    };
    minRole: "operator";
    mutating: false;
  };
  "audit.verify": {
    input: Record<string, never>;
    output: {
      intact: boolean;
      rows: number;
      firstBad: {
        seq: number | null;
        reason: "hash" | "link" | "sequence" | "truncated" | "anchor";
      } | null;
      anchor?: {
        seq: number;
        hash: string;
      };
      head: {
        seq: number;
        at: string;
      } | null;
      chains?: Array<{
        node: string;
        intact: boolean;
        rows: number;
        firstBad: {
          seq: number | null;
          reason: "hash" | "link" | "sequence" | "truncated" | "anchor";
        } | null;
      }>;
    };
    minRole: "operator";
    mutating: false;
  };
  "sessions.logout": {
    input: Record<string, never>;
    output: {
      ended: boolean;
    };
    minRole: "viewer";
    mutating: true;
  };
  "sessions.rotate": {
    input: Record<string, never>;
    output: {
      rotatedAt: string;
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.sources.list": {
    input: Record<string, never>;
    output: {
      sources: Array<{
        id: string;
        /** The node that owns the source (its file is there) and runs its jobs */
        node?: string;
        name: string;
        path: string;
        kind: "app" | "file";
        schedule: string | null;
        retention: {
          keepLast?: number;
          keepHourly?: number;
          keepDaily?: number;
          keepWeekly?: number;
          keepMonthly?: number;
          /** A duration such as 36h, 7d or 1d12h */
          keepWithin?: string;
        };
        continuousSeconds: number | null;
        createdAt: string;
        nextRunAt: string | null;
        lastSuccessAt: string | null;
        lastFailureAt: string | null;
        lastError: string | null;
        snapshots: number;
        /** Sum of the image sizes of its snapshots */
        logicalBytes: number;
        /** Compressed bytes its snapshots added to the repository */
        storedBytes: number;
        dedupRatio: number | null;
      }>;
      repository: {
        path: string;
        pages: number;
        packs: number;
        storedBytes: number;
        snapshots: number;
      };
      running: Array<{
        jobId: string;
        kind: "snapshot" | "verify" | "restore" | "prune";
        sourceId: string | null;
        snapshotId: string | null;
        phase: string;
        done: number;
        total: number;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "backup.sources.register": {
    input: {
      /** Something other than spaces */
      name: string;
      path: string;
      schedule?: string | null;
      retention?: {
        keepLast?: number;
        keepHourly?: number;
        keepDaily?: number;
        keepWeekly?: number;
        keepMonthly?: number;
        /** A duration such as 36h, 7d or 1d12h */
        keepWithin?: string;
      };
      continuousSeconds?: number | null;
    };
    output: {
      source: {
        id: string;
        /** The node that owns the source (its file is there) and runs its jobs */
        node?: string;
        name: string;
        path: string;
        kind: "app" | "file";
        schedule: string | null;
        retention: {
          keepLast?: number;
          keepHourly?: number;
          keepDaily?: number;
          keepWeekly?: number;
          keepMonthly?: number;
          /** A duration such as 36h, 7d or 1d12h */
          keepWithin?: string;
        };
        continuousSeconds: number | null;
        createdAt: string;
        nextRunAt: string | null;
        lastSuccessAt: string | null;
        lastFailureAt: string | null;
        lastError: string | null;
        snapshots: number;
        /** Sum of the image sizes of its snapshots */
        logicalBytes: number;
        /** Compressed bytes its snapshots added to the repository */
        storedBytes: number;
        dedupRatio: number | null;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.sources.update": {
    input: {
      id: string;
      schedule?: string | null;
      retention?: {
        keepLast?: number;
        keepHourly?: number;
        keepDaily?: number;
        keepWeekly?: number;
        keepMonthly?: number;
        /** A duration such as 36h, 7d or 1d12h */
        keepWithin?: string;
      };
      continuousSeconds?: number | null;
    };
    output: {
      source: {
        id: string;
        /** The node that owns the source (its file is there) and runs its jobs */
        node?: string;
        name: string;
        path: string;
        kind: "app" | "file";
        schedule: string | null;
        retention: {
          keepLast?: number;
          keepHourly?: number;
          keepDaily?: number;
          keepWeekly?: number;
          keepMonthly?: number;
          /** A duration such as 36h, 7d or 1d12h */
          keepWithin?: string;
        };
        continuousSeconds: number | null;
        createdAt: string;
        nextRunAt: string | null;
        lastSuccessAt: string | null;
        lastFailureAt: string | null;
        lastError: string | null;
        snapshots: number;
        /** Sum of the image sizes of its snapshots */
        logicalBytes: number;
        /** Compressed bytes its snapshots added to the repository */
        storedBytes: number;
        dedupRatio: number | null;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.sources.remove": {
    input: {
      id: string;
    };
    output: {
      removed: boolean;
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.snapshot": {
    input: {
      /** Source id */
      id: string;
    };
    output: {
      snapshot: {
        id: string;
        /** The node whose repository holds the snapshot */
        node?: string;
        sourceId: string;
        sourceName: string;
        capturedAt: string;
        trigger: string;
        pageSize: number;
        pageCount: number;
        logicalBytes: number;
        imageHash: string;
        addedPages: number;
        addedBytes: number;
        durationMs: number;
        lastVerification: {
          at: string;
          ok: boolean;
        } | null;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "backup.snapshot.cancel": {
    input: {
      sourceId: string;
    };
    output: {
      cancel: {
        id: number;
        at: string;
        sourceId: string;
        /** Who cancelled it (audit actor) */
        by: string;
        /** Where the snapshot was when it stopped (capture, store) */
        phase: string;
        done: number;
        total: number;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "backup.snapshots.list": {
    input: {
      sourceId?: string;
      /** Default 200 */
      limit?: number;
      /** Snapshots to skip, newest first */
      offset?: number;
    };
    output: {
      snapshots: Array<{
        id: string;
        /** The node whose repository holds the snapshot */
        node?: string;
        sourceId: string;
        sourceName: string;
        capturedAt: string;
        trigger: string;
        pageSize: number;
        pageCount: number;
        logicalBytes: number;
        imageHash: string;
        addedPages: number;
        addedBytes: number;
        durationMs: number;
        lastVerification: {
          at: string;
          ok: boolean;
        } | null;
      }>;
      /** Every snapshot of the source (of every source), on every node the list covers */
      total: number;
    };
    minRole: "viewer";
    mutating: false;
  };
  "backup.export": {
    input: {
      /** Snapshot id */
      id: string;
    };
    output: {
      fileName: string;
      bytes: number;
    };
    minRole: "admin";
    mutating: false;
  };
  "backup.verify": {
    input: {
      /** Snapshot id */
      id: string;
    };
    output: {
      verification: {
        id: number;
        snapshotId: string;
        sourceId: string;
        at: string;
        ok: boolean;
        pagesChecked: number;
        /** Page numbers (1-based) that failed, at most 100 */
        badPages: Array<number>;
        imageHashOk: boolean;
        /** PRAGMA integrity_check output, at most 20 lines */
        integrity: Array<string>;
        durationMs: number;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "backup.verifications.list": {
    input: {
      snapshotId?: string;
      /** The verifications of each of these snapshots in one read, up to `limit` per snapshot (not with snapshotId) */
      snapshotIds?: Array<string>;
      limit?: number;
    };
    output: {
      verifications: Array<{
        id: number;
        snapshotId: string;
        sourceId: string;
        at: string;
        ok: boolean;
        pagesChecked: number;
        /** Page numbers (1-based) that failed, at most 100 */
        badPages: Array<number>;
        imageHashOk: boolean;
        /** PRAGMA integrity_check output, at most 20 lines */
        integrity: Array<string>;
        durationMs: number;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "backup.restore.plan": {
    input: {
      snapshotId?: string;
      /** With `at`: the newest snapshot of this source at or before it */
      sourceId?: string;
      at?: string;
      /** Replace the source database itself (a safety snapshot is taken first) */
      inPlace?: boolean;
      /** Absolute path of a new file to restore into */
      targetPath?: string;
      /** In place: restore even while another process has the database open; that process’s later writes are lost */
      force?: boolean;
    };
    output: {
      snapshot: {
        id: string;
        /** The node whose repository holds the snapshot */
        node?: string;
        sourceId: string;
        sourceName: string;
        capturedAt: string;
        trigger: string;
        pageSize: number;
        pageCount: number;
        logicalBytes: number;
        imageHash: string;
        addedPages: number;
        addedBytes: number;
        durationMs: number;
        lastVerification: {
          at: string;
          ok: boolean;
        } | null;
      };
      target: string;
      inPlace: boolean;
      safetySnapshot: boolean;
      steps: Array<string>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "backup.restore": {
    input: {
      snapshotId?: string;
      /** With `at`: the newest snapshot of this source at or before it */
      sourceId?: string;
      at?: string;
      /** Replace the source database itself (a safety snapshot is taken first) */
      inPlace?: boolean;
      /** Absolute path of a new file to restore into */
      targetPath?: string;
      /** In place: restore even while another process has the database open; that process’s later writes are lost */
      force?: boolean;
    };
    output: {
      restore: {
        id: number;
        snapshotId: string;
        sourceId: string;
        target: string;
        inPlace: boolean;
        safetySnapshotId: string | null;
        at: string;
        ok: boolean;
        error: string | null;
        durationMs: number;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.prune": {
    input: Record<string, never>;
    output: {
      prune: {
        id: number;
        at: string;
        removedSnapshots: number;
        removedPages: number;
        freedBytes: number;
      };
      removedSnapshotIds: Array<string>;
    };
    minRole: "operator";
    mutating: true;
  };
  "backup.history": {
    input: {
      limit?: number;
    };
    output: {
      restores: Array<{
        id: number;
        snapshotId: string;
        sourceId: string;
        target: string;
        inPlace: boolean;
        safetySnapshotId: string | null;
        at: string;
        ok: boolean;
        error: string | null;
        durationMs: number;
      }>;
      prunes: Array<{
        id: number;
        at: string;
        removedSnapshots: number;
        removedPages: number;
        freedBytes: number;
      }>;
      cancelled: Array<{
        id: number;
        at: string;
        sourceId: string;
        /** Who cancelled it (audit actor) */
        by: string;
        /** Where the snapshot was when it stopped (capture, store) */
        phase: string;
        done: number;
        total: number;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "backup.key.status": {
    input: Record<string, never>;
    output: {
      encrypted: boolean;
      /** plain, migrating, encrypted, or locked (a wrapped key not yet unlocked) */
      format: string;
      /** The key file is wrapped by a passphrase */
      wrapped: boolean;
      locked: boolean;
      /** Names the key without revealing it */
      keyId: string | null;
    };
    minRole: "viewer";
    mutating: false;
  };
  "backup.key.unlock": {
    input: {
      passphrase: string;
    };
    output: {
      encrypted: boolean;
      /** plain, migrating, encrypted, or locked (a wrapped key not yet unlocked) */
      format: string;
      /** The key file is wrapped by a passphrase */
      wrapped: boolean;
      locked: boolean;
      /** Names the key without revealing it */
      keyId: string | null;
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.key.passphrase": {
    input: {
      current?: string | null;
      passphrase: string | null;
    };
    output: {
      encrypted: boolean;
      /** plain, migrating, encrypted, or locked (a wrapped key not yet unlocked) */
      format: string;
      /** The key file is wrapped by a passphrase */
      wrapped: boolean;
      locked: boolean;
      /** Names the key without revealing it */
      keyId: string | null;
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.key.export": {
    input: Record<string, never>;
    output: {
      keyId: string;
      masterKey: string;
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.replicas.list": {
    input: Record<string, never>;
    output: {
      replicas: Array<{
        id: string;
        name: string;
        kind: "folder" | "s3" | "sftp" | "peer";
        /** Where it is, without credentials: a folder, s3://bucket/prefix at an endpoint, sftp://user@host:port/path, or <node id> at <base URL> (another Pilothouse node) */
        target: string;
        /** new, syncing, ok, failed (see lastError) or foreign (it holds another repository) */
        state: string;
        createdAt: string;
        lastSyncAt: string | null;
        lastError: string | null;
        lastVerifiedAt: string | null;
        lastVerifyOk: boolean | null;
        lastVerifyDetail: string | null;
        /** Snapshots the replica lacks */
        lagSnapshots: number;
        /** Bytes the replica lacks */
        lagBytes: number;
        bytesSent: number;
        transfer: {
          done: number;
          total: number;
          direction: "push" | "pull";
        } | null;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "backup.replicas.add": {
    input: {
      /** Something other than spaces */
      name: string;
      kind: "folder" | "s3" | "sftp" | "peer";
      /** folder: an absolute folder; sftp: the folder on the server */
      path?: string;
      /** s3: http(s)://host:port */
      endpoint?: string;
      bucket?: string;
      prefix?: string;
      region?: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      host?: string;
      port?: number;
      username?: string;
      /** The server's host key, as ssh-keygen -l prints it after SHA256: */
      hostKeySha256?: string;
      privateKey?: string;
      password?: string;
      /** peer: the other node's base URL, http(s)://host:port (without it: where LAN discovery heard the node) */
      url?: string;
      /** peer: the other node's id (its node.id): found on the LAN by it without a url; learned from its signed answer and pinned when not given */
      node?: string;
      /** peer over https: the SHA-256 fingerprint of the node's certificate (as its start-up log prints it), pinned */
      certSha256?: string;
      /** peer: an admin API key of the other node */
      apiKey?: string;
    };
    output: {
      replica: {
        id: string;
        name: string;
        kind: "folder" | "s3" | "sftp" | "peer";
        /** Where it is, without credentials: a folder, s3://bucket/prefix at an endpoint, sftp://user@host:port/path, or <node id> at <base URL> (another Pilothouse node) */
        target: string;
        /** new, syncing, ok, failed (see lastError) or foreign (it holds another repository) */
        state: string;
        createdAt: string;
        lastSyncAt: string | null;
        lastError: string | null;
        lastVerifiedAt: string | null;
        lastVerifyOk: boolean | null;
        lastVerifyDetail: string | null;
        /** Snapshots the replica lacks */
        lagSnapshots: number;
        /** Bytes the replica lacks */
        lagBytes: number;
        bytesSent: number;
        transfer: {
          done: number;
          total: number;
          direction: "push" | "pull";
        } | null;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.replicas.remove": {
    input: {
      /** Replica id */
      id: string;
    };
    output: {
      removed: boolean;
    };
    minRole: "admin";
    mutating: true;
  };
  "backup.replicas.sync": {
    input: {
      /** Replica id */
      id: string;
    };
    output: {
      replica: {
        id: string;
        name: string;
        kind: "folder" | "s3" | "sftp" | "peer";
        /** Where it is, without credentials: a folder, s3://bucket/prefix at an endpoint, sftp://user@host:port/path, or <node id> at <base URL> (another Pilothouse node) */
        target: string;
        /** new, syncing, ok, failed (see lastError) or foreign (it holds another repository) */
        state: string;
        createdAt: string;
        lastSyncAt: string | null;
        lastError: string | null;
        lastVerifiedAt: string | null;
        lastVerifyOk: boolean | null;
        lastVerifyDetail: string | null;
        /** Snapshots the replica lacks */
        lagSnapshots: number;
        /** Bytes the replica lacks */
        lagBytes: number;
        bytesSent: number;
        transfer: {
          done: number;
          total: number;
          direction: "push" | "pull";
        } | null;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "backup.replicas.verify": {
    input: {
      id: string;
      samplePages?: number;
    };
    output: {
      pagesChecked: number;
      manifestsChecked: number;
      damaged: Array<string>;
      repaired: Array<string>;
    };
    minRole: "operator";
    mutating: true;
  };
  "backup.replicas.restore": {
    input: {
      /** Replica id */
      id: string;
    };
    output: {
      packs: number;
      snapshots: number;
      bytes: number;
    };
    minRole: "admin";
    mutating: true;
  };
  "monitoring.overview": {
    input: Record<string, never>;
    output: {
      status: "ok" | "degraded" | "down";
      dependencies: Array<{
        name: string;
        status: "up" | "degraded" | "down" | "unknown";
        /** When a critical dependency is down the node is not ready */
        critical: boolean;
        detail: string;
        latencyMs: number | null;
        /** When it entered this status */
        since: string;
        checkedAt: string | null;
      }>;
      alerts: Array<{
        ruleId: string;
        name: string;
        severity: "info" | "warning" | "critical";
        state: "inactive" | "pending" | "firing" | "resolved";
        metric: string;
        value: number | null;
        threshold: number;
        comparator: ">" | ">=" | "<" | "<=" | "==" | "!=";
        /** When it entered this state */
        since: string;
        message: string;
        acknowledgedAt?: string | null;
        acknowledgedBy?: string | null;
        silencedUntil?: string | null;
      }>;
      system: {
        at: string;
        /** Process CPU over the last interval, 100 = one core */
        cpuPercent: number;
        rssBytes: number;
        heapUsedBytes: number;
        heapTotalBytes: number;
        heapLimitBytes: number;
        externalBytes: number;
        eventLoopDelayP50Ms: number;
        eventLoopDelayP99Ms: number;
        eventLoopDelayMaxMs: number;
        /** 0..1 over the last interval */
        eventLoopUtilization: number;
        /** GC pauses in the last interval */
        gcPauses: number;
        gcPauseTotalMs: number;
        gcPauseMaxMs: number;
        activeHandles: number;
        disks: Array<{
          label: string;
          path: string;
          freeBytes: number;
          totalBytes: number;
          usedRatio: number;
        }>;
      } | null;
      latest: {
        at: string;
        values: Record<string, number | null>;
      } | null;
      slowest: Array<{
        /** op:<operation> for console operations, http:<METHOD> <route> for HTTP routes, or a capability name */
        name: string;
        count: number;
        errors: number;
        errorRatio: number;
        meanMs: number;
        p50Ms: number;
        p95Ms: number;
        p99Ms: number;
        stddevMs: number;
        minMs: number;
        maxMs: number;
        /** The slow-call threshold in force */
        slowMs: number;
        slowCalls: number;
      }>;
      mostCalled: Array<{
        /** op:<operation> for console operations, http:<METHOD> <route> for HTTP routes, or a capability name */
        name: string;
        count: number;
        errors: number;
        errorRatio: number;
        meanMs: number;
        p50Ms: number;
        p95Ms: number;
        p99Ms: number;
        stddevMs: number;
        minMs: number;
        maxMs: number;
        /** The slow-call threshold in force */
        slowMs: number;
        slowCalls: number;
      }>;
      mostFailing: Array<{
        /** op:<operation> for console operations, http:<METHOD> <route> for HTTP routes, or a capability name */
        name: string;
        count: number;
        errors: number;
        errorRatio: number;
        meanMs: number;
        p50Ms: number;
        p95Ms: number;
        p99Ms: number;
        stddevMs: number;
        minMs: number;
        maxMs: number;
        /** The slow-call threshold in force */
        slowMs: number;
        slowCalls: number;
      }>;
      /** The 10 most recent slow calls */
      slowLog: Array<{
        name: string;
        at: string;
        durationMs: number;
        thresholdMs: number;
        ok: boolean;
        code: string | null;
      }>;
      recommendations: Array<string>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "monitoring.operations": {
    input: {
      scope?: "window" | "total";
    };
    output: {
      scope: "window" | "total";
      windowSeconds: number;
      operations: Array<{
        /** op:<operation> for console operations, http:<METHOD> <route> for HTTP routes, or a capability name */
        name: string;
        count: number;
        errors: number;
        errorRatio: number;
        meanMs: number;
        p50Ms: number;
        p95Ms: number;
        p99Ms: number;
        stddevMs: number;
        minMs: number;
        maxMs: number;
        /** The slow-call threshold in force */
        slowMs: number;
        slowCalls: number;
      }>;
      slowLog: Array<{
        name: string;
        at: string;
        durationMs: number;
        thresholdMs: number;
        ok: boolean;
        code: string | null;
      }>;
      slowest: Array<{
        /** op:<operation> for console operations, http:<METHOD> <route> for HTTP routes, or a capability name */
        name: string;
        count: number;
        errors: number;
        errorRatio: number;
        meanMs: number;
        p50Ms: number;
        p95Ms: number;
        p99Ms: number;
        stddevMs: number;
        minMs: number;
        maxMs: number;
        /** The slow-call threshold in force */
        slowMs: number;
        slowCalls: number;
      }>;
      mostCalled: Array<{
        /** op:<operation> for console operations, http:<METHOD> <route> for HTTP routes, or a capability name */
        name: string;
        count: number;
        errors: number;
        errorRatio: number;
        meanMs: number;
        p50Ms: number;
        p95Ms: number;
        p99Ms: number;
        stddevMs: number;
        minMs: number;
        maxMs: number;
        /** The slow-call threshold in force */
        slowMs: number;
        slowCalls: number;
      }>;
      mostFailing: Array<{
        /** op:<operation> for console operations, http:<METHOD> <route> for HTTP routes, or a capability name */
        name: string;
        count: number;
        errors: number;
        errorRatio: number;
        meanMs: number;
        p50Ms: number;
        p95Ms: number;
        p99Ms: number;
        stddevMs: number;
        minMs: number;
        maxMs: number;
        /** The slow-call threshold in force */
        slowMs: number;
        slowCalls: number;
      }>;
      recommendations: Array<string>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "monitoring.thresholds.set": {
    input: {
      name: string;
      slowMs: number | null;
    };
    output: {
      name: string;
      slowMs: number;
    };
    minRole: "admin";
    mutating: true;
  };
  "monitoring.health": {
    input: {
      /** Probe now instead of returning the last result */
      refresh?: boolean;
    };
    output: {
      dependencies: Array<{
        name: string;
        status: "up" | "degraded" | "down" | "unknown";
        /** When a critical dependency is down the node is not ready */
        critical: boolean;
        detail: string;
        latencyMs: number | null;
        /** When it entered this status */
        since: string;
        checkedAt: string | null;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "monitoring.system": {
    input: Record<string, never>;
    output: {
      system: {
        at: string;
        /** Process CPU over the last interval, 100 = one core */
        cpuPercent: number;
        rssBytes: number;
        heapUsedBytes: number;
        heapTotalBytes: number;
        heapLimitBytes: number;
        externalBytes: number;
        eventLoopDelayP50Ms: number;
        eventLoopDelayP99Ms: number;
        eventLoopDelayMaxMs: number;
        /** 0..1 over the last interval */
        eventLoopUtilization: number;
        /** GC pauses in the last interval */
        gcPauses: number;
        gcPauseTotalMs: number;
        gcPauseMaxMs: number;
        activeHandles: number;
        disks: Array<{
          label: string;
          path: string;
          freeBytes: number;
          totalBytes: number;
          usedRatio: number;
        }>;
      } | null;
    };
    minRole: "viewer";
    mutating: false;
  };
  "monitoring.series": {
    input: Record<string, never>;
    output: {
      series: Array<{
        name: string;
        unit: string;
        help: string;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "monitoring.history": {
    input: {
      series: Array<string>;
      /** Epoch ms; default one hour ago */
      from?: number;
      /** Epoch ms; default now */
      to?: number;
      /** Default: the range over about 120 points */
      stepSeconds?: number;
    };
    output: {
      from: number;
      to: number;
      stepSeconds: number;
      /** The stored resolution the points were read from */
      resolutionSeconds: number;
      series: Array<{
        name: string;
        unit: string;
        points: Array<{
          t: number;
          avg: number;
          min: number;
          max: number;
        }>;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "monitoring.alerts": {
    input: Record<string, never>;
    output: {
      rules: Array<{
        /** 1-80 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit */
        id: string;
        name: string;
        /** A series name, as monitoring.series lists them */
        metric: string;
        comparator: ">" | ">=" | "<" | "<=" | "==" | "!=";
        threshold: number;
        /** How long the condition must hold before the alert fires */
        forSeconds: number;
        severity: "info" | "warning" | "critical";
        enabled: boolean;
        description: string;
      }>;
      active: Array<{
        ruleId: string;
        name: string;
        severity: "info" | "warning" | "critical";
        state: "inactive" | "pending" | "firing" | "resolved";
        metric: string;
        value: number | null;
        threshold: number;
        comparator: ">" | ">=" | "<" | "<=" | "==" | "!=";
        /** When it entered this state */
        since: string;
        message: string;
        acknowledgedAt?: string | null;
        acknowledgedBy?: string | null;
        silencedUntil?: string | null;
      }>;
      /** One per rule, in the order of rules */
      status: Array<{
        ruleId: string;
        state: "inactive" | "pending" | "firing" | "resolved" | "no-data";
        value: number | null;
        /** The alert pending or firing now was acknowledged */
        acknowledged: boolean;
        silence: {
          ruleId: string;
          acknowledgedAt: string | null;
          acknowledgedBy: string | null;
          silencedUntil: string | null;
          silencedBy: string | null;
        } | null;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "monitoring.alerts.history": {
    input: {
      limit?: number;
      beforeId?: number;
      ruleId?: string;
    };
    output: {
      events: Array<{
        id: number;
        at: string;
        ruleId: string;
        name: string;
        severity: "info" | "warning" | "critical";
        state: "inactive" | "pending" | "firing" | "resolved";
        value: number | null;
        message: string;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "monitoring.alerts.save": {
    input: {
      rule: {
        /** 1-80 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit */
        id: string;
        name: string;
        /** A series name, as monitoring.series lists them */
        metric: string;
        comparator: ">" | ">=" | "<" | "<=" | "==" | "!=";
        threshold: number;
        /** How long the condition must hold before the alert fires */
        forSeconds: number;
        severity: "info" | "warning" | "critical";
        enabled: boolean;
        description: string;
      };
    };
    output: {
      rule: {
        /** 1-80 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit */
        id: string;
        name: string;
        /** A series name, as monitoring.series lists them */
        metric: string;
        comparator: ">" | ">=" | "<" | "<=" | "==" | "!=";
        threshold: number;
        /** How long the condition must hold before the alert fires */
        forSeconds: number;
        severity: "info" | "warning" | "critical";
        enabled: boolean;
        description: string;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "monitoring.alerts.delete": {
    input: {
      id: string;
    };
    output: {
      deleted: boolean;
    };
    minRole: "admin";
    mutating: true;
  };
  "monitoring.alerts.acknowledge": {
    input: {
      ruleId: string;
    };
    output: {
      silence: {
        ruleId: string;
        acknowledgedAt: string | null;
        acknowledgedBy: string | null;
        silencedUntil: string | null;
        silencedBy: string | null;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "monitoring.alerts.silence": {
    input: {
      ruleId: string;
      /** How long from now; at most 30 days */
      seconds: number;
    };
    output: {
      silence: {
        ruleId: string;
        acknowledgedAt: string | null;
        acknowledgedBy: string | null;
        silencedUntil: string | null;
        silencedBy: string | null;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "monitoring.usage": {
    input: {
      /** Epoch ms; default 24 h ago */
      from?: number;
      /** Epoch ms; default now */
      to?: number;
      groupBy?: "key" | "route" | "key-route";
    };
    output: {
      from: number;
      to: number;
      rows: Array<{
        /** The API key id, or "(none)" for unauthenticated and console-session calls without a key */
        keyId: string;
        route: string;
        requests: number;
        errors: number;
        bytesIn: number;
        bytesOut: number;
        /** The rate-limit tier the key was on ("" before tiers were counted, "*" when grouped by route) */
        tier: string;
        /** Requests the rate limit refused (429) */
        refused: number;
      }>;
      operations: Array<{
        /** The API key id, or "(none)" for callers without a key (the desktop console, the system) */
        keyId: string;
        operation: string;
        calls: number;
        errors: number;
      }>;
    };
    minRole: "operator";
    mutating: false;
  };
  "monitoring.usage.export": {
    input: {
      /** Epoch ms; default 24 h ago */
      from?: number;
      /** Epoch ms; default now */
      to?: number;
      groupBy?: "key" | "route" | "key-route";
      format: "csv" | "json";
    };
    output: {
      filename: string;
      contentType: string;
      content: string;
    };
    minRole: "operator";
    mutating: false;
  };
  "services.register": {
    input: {
      /** 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit */
      name: string;
      /** 1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit */
      id?: string;
      /** A host name (dot-separated labels of letters, digits, '_' or '-') or an IP address (IPv4, or IPv6 without brackets); no port, path or scheme */
      address: string;
      port: number;
      tags?: Array<string>;
      /** Up to 32 entries; each key 1-64 characters, each value up to 512 */
      meta?: Record<string, string>;
      version?: string;
      weight?: number;
      checks?: Array<{
        /** 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit */
        id?: string;
        kind: "http" | "tcp" | "ttl";
        /** An http:// or https:// URL */
        url?: string;
        method?: "GET" | "HEAD";
        expectStatus?: number;
        maxBodyBytes?: number;
        /** A host name (dot-separated labels of letters, digits, '_' or '-') or an IP address (IPv4, or IPv6 without brackets); no port, path or scheme */
        host?: string;
        port?: number;
        ttlMs?: number;
        intervalMs?: number;
        timeoutMs?: number;
        jitter?: number;
        successBeforePassing?: number;
        failuresBeforeCritical?: number;
        deregisterAfterMs?: number;
        initialStatus?: "passing" | "warning" | "critical";
      }>;
    };
    output: {
      instance: {
        id: string;
        name: string;
        address: string;
        port: number;
        tags: Array<string>;
        meta: Record<string, string>;
        version: string | null;
        weight: number;
        state: "passing" | "warning" | "critical" | "maintenance";
        maintenance: {
          reason: string;
          since: string;
        } | null;
        registeredAt: string;
        updatedAt: string;
        lastHeartbeatAt: string | null;
        checks: Array<{
          id: string;
          kind: "http" | "tcp" | "ttl";
          /** What the check probes, in words: a URL, host:port or "heartbeat every N ms" */
          target: string;
          intervalMs: number;
          status: "passing" | "warning" | "critical";
          /** The last result, truncated */
          output: string;
          checkedAt: string | null;
          changedAt: string;
          criticalSince: string | null;
          deregisterAfterMs: number | null;
          /** Status changes, newest first */
          history?: Array<{
            at: string;
            status: "passing" | "warning" | "critical";
            output: string;
          }>;
        }>;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "services.deregister": {
    input: {
      /** 1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit */
      id: string;
    };
    output: {
      id: string;
      name: string;
    };
    minRole: "operator";
    mutating: true;
  };
  "services.heartbeat": {
    input: {
      /** 1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit */
      id: string;
      status?: "passing" | "warning" | "critical";
      output?: string;
    };
    output: {
      instance: {
        id: string;
        name: string;
        address: string;
        port: number;
        tags: Array<string>;
        meta: Record<string, string>;
        version: string | null;
        weight: number;
        state: "passing" | "warning" | "critical" | "maintenance";
        maintenance: {
          reason: string;
          since: string;
        } | null;
        registeredAt: string;
        updatedAt: string;
        lastHeartbeatAt: string | null;
        checks: Array<{
          id: string;
          kind: "http" | "tcp" | "ttl";
          /** What the check probes, in words: a URL, host:port or "heartbeat every N ms" */
          target: string;
          intervalMs: number;
          status: "passing" | "warning" | "critical";
          /** The last result, truncated */
          output: string;
          checkedAt: string | null;
          changedAt: string;
          criticalSince: string | null;
          deregisterAfterMs: number | null;
          /** Status changes, newest first */
          history?: Array<{
            at: string;
            status: "passing" | "warning" | "critical";
            output: string;
          }>;
        }>;
      };
      /** The TTL checks this heartbeat fed: 0 when the instance has none, and then only its lastHeartbeatAt moved */
      ttlChecksFed: number;
    };
    minRole: "operator";
    mutating: true;
  };
  "services.list": {
    input: {
      /** 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit */
      name?: string;
      tag?: string;
      state?: "passing" | "warning" | "critical" | "maintenance";
      versionRange?: string;
      /** name (default): by service name, then id; health: critical first, then warning, maintenance, passing */
      order?: "name" | "health";
    };
    output: {
      index: number;
      instances: Array<{
        id: string;
        name: string;
        address: string;
        port: number;
        tags: Array<string>;
        meta: Record<string, string>;
        version: string | null;
        weight: number;
        state: "passing" | "warning" | "critical" | "maintenance";
        maintenance: {
          reason: string;
          since: string;
        } | null;
        registeredAt: string;
        updatedAt: string;
        lastHeartbeatAt: string | null;
        checks: Array<{
          id: string;
          kind: "http" | "tcp" | "ttl";
          /** What the check probes, in words: a URL, host:port or "heartbeat every N ms" */
          target: string;
          intervalMs: number;
          status: "passing" | "warning" | "critical";
          /** The last result, truncated */
          output: string;
          checkedAt: string | null;
          changedAt: string;
          criticalSince: string | null;
          deregisterAfterMs: number | null;
          /** Status changes, newest first */
          history?: Array<{
            at: string;
            status: "passing" | "warning" | "critical";
            output: string;
          }>;
        }>;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "services.summary": {
    input: {
      /** 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit */
      name?: string;
      tag?: string;
      state?: "passing" | "warning" | "critical" | "maintenance";
      versionRange?: string;
    };
    output: {
      index: number;
      services: Array<{
        name: string;
        instances: number;
        /** Instances by their health state (not checks); they add up to `instances` */
        counts: {
          passing: number;
          warning: number;
          critical: number;
          maintenance: number;
        };
        tags: Array<string>;
        versions: Array<string>;
        policy: {
          strategy: "round-robin" | "weighted" | "least-requests" | "random" | "consistent-hash";
          hashHeader: string | null;
          outlier: {
            consecutiveFailures: number;
            baseEjectionMs: number;
            maxEjectionMs: number;
            maxEjectionShare: number;
          };
        };
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "services.get": {
    input: {
      /** 1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit */
      id: string;
    };
    output: {
      instance: {
        id: string;
        name: string;
        address: string;
        port: number;
        tags: Array<string>;
        meta: Record<string, string>;
        version: string | null;
        weight: number;
        state: "passing" | "warning" | "critical" | "maintenance";
        maintenance: {
          reason: string;
          since: string;
        } | null;
        registeredAt: string;
        updatedAt: string;
        lastHeartbeatAt: string | null;
        checks: Array<{
          id: string;
          kind: "http" | "tcp" | "ttl";
          /** What the check probes, in words: a URL, host:port or "heartbeat every N ms" */
          target: string;
          intervalMs: number;
          status: "passing" | "warning" | "critical";
          /** The last result, truncated */
          output: string;
          checkedAt: string | null;
          changedAt: string;
          criticalSince: string | null;
          deregisterAfterMs: number | null;
          /** Status changes, newest first */
          history?: Array<{
            at: string;
            status: "passing" | "warning" | "critical";
            output: string;
          }>;
        }>;
      };
    };
    minRole: "viewer";
    mutating: false;
  };
  "services.watch": {
    input: {
      /** 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit */
      name?: string;
      tag?: string;
      state?: "passing" | "warning" | "critical" | "maintenance";
      versionRange?: string;
      index: number;
      waitMs?: number;
    };
    output: {
      index: number;
      changed: boolean;
      instances: Array<{
        id: string;
        name: string;
        address: string;
        port: number;
        tags: Array<string>;
        meta: Record<string, string>;
        version: string | null;
        weight: number;
        state: "passing" | "warning" | "critical" | "maintenance";
        maintenance: {
          reason: string;
          since: string;
        } | null;
        registeredAt: string;
        updatedAt: string;
        lastHeartbeatAt: string | null;
        checks: Array<{
          id: string;
          kind: "http" | "tcp" | "ttl";
          /** What the check probes, in words: a URL, host:port or "heartbeat every N ms" */
          target: string;
          intervalMs: number;
          status: "passing" | "warning" | "critical";
          /** The last result, truncated */
          output: string;
          checkedAt: string | null;
          changedAt: string;
          criticalSince: string | null;
          deregisterAfterMs: number | null;
          /** Status changes, newest first */
          history?: Array<{
            at: string;
            status: "passing" | "warning" | "critical";
            output: string;
          }>;
        }>;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "services.maintenance": {
    input: {
      /** 1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit */
      id: string;
      enabled: boolean;
      reason?: string;
    };
    output: {
      instance: {
        id: string;
        name: string;
        address: string;
        port: number;
        tags: Array<string>;
        meta: Record<string, string>;
        version: string | null;
        weight: number;
        state: "passing" | "warning" | "critical" | "maintenance";
        maintenance: {
          reason: string;
          since: string;
        } | null;
        registeredAt: string;
        updatedAt: string;
        lastHeartbeatAt: string | null;
        checks: Array<{
          id: string;
          kind: "http" | "tcp" | "ttl";
          /** What the check probes, in words: a URL, host:port or "heartbeat every N ms" */
          target: string;
          intervalMs: number;
          status: "passing" | "warning" | "critical";
          /** The last result, truncated */
          output: string;
          checkedAt: string | null;
          changedAt: string;
          criticalSince: string | null;
          deregisterAfterMs: number | null;
          /** Status changes, newest first */
          history?: Array<{
            at: string;
            status: "passing" | "warning" | "critical";
            output: string;
          }>;
        }>;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "services.pick": {
    input: {
      /** 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit */
      name: string;
      key?: string;
    };
    output: {
      instance: {
        id: string;
        name: string;
        address: string;
        port: number;
        tags: Array<string>;
        meta: Record<string, string>;
        version: string | null;
        weight: number;
        state: "passing" | "warning" | "critical" | "maintenance";
        maintenance: {
          reason: string;
          since: string;
        } | null;
        registeredAt: string;
        updatedAt: string;
        lastHeartbeatAt: string | null;
        checks: Array<{
          id: string;
          kind: "http" | "tcp" | "ttl";
          /** What the check probes, in words: a URL, host:port or "heartbeat every N ms" */
          target: string;
          intervalMs: number;
          status: "passing" | "warning" | "critical";
          /** The last result, truncated */
          output: string;
          checkedAt: string | null;
          changedAt: string;
          criticalSince: string | null;
          deregisterAfterMs: number | null;
          /** Status changes, newest first */
          history?: Array<{
            at: string;
            status: "passing" | "warning" | "critical";
            output: string;
          }>;
        }>;
      };
    };
    minRole: "viewer";
    mutating: false;
  };
  "services.configure": {
    input: {
      /** 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit */
      name: string;
      strategy?: "round-robin" | "weighted" | "least-requests" | "random" | "consistent-hash";
      hashHeader?: string | null;
      outlier?: {
        consecutiveFailures?: number;
        baseEjectionMs?: number;
        maxEjectionMs?: number;
        maxEjectionShare?: number;
      };
    };
    output: {
      name: string;
      policy: {
        strategy: "round-robin" | "weighted" | "least-requests" | "random" | "consistent-hash";
        hashHeader: string | null;
        outlier: {
          consecutiveFailures: number;
          baseEjectionMs: number;
          maxEjectionMs: number;
          maxEjectionShare: number;
        };
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "services.traffic": {
    input: {
      /** 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit */
      name?: string;
    };
    output: {
      instances: Array<{
        id: string;
        name: string;
        requests: number;
        errors: number;
        inFlight: number;
        p50Ms: number;
        p99Ms: number;
        lastError: string | null;
        ejected: boolean;
        ejectedUntil: string | null;
        ejections: number;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "services.discovered": {
    input: Record<string, never>;
    output: {
      enabled: boolean;
      services: Array<{
        fqdn: string;
        name: string;
        type: string;
        host: string;
        port: number;
        addresses: Array<string>;
        txt: Record<string, string>;
        firstSeenAt: string;
        lastSeenAt: string;
        adoptedAs: string | null;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "services.adopt": {
    input: {
      fqdn: string;
      /** 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit */
      name?: string;
      /** A host name (dot-separated labels of letters, digits, '_' or '-') or an IP address (IPv4, or IPv6 without brackets); no port, path or scheme */
      address?: string;
      check?: {
        /** 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit */
        id?: string;
        kind: "http" | "tcp" | "ttl";
        /** An http:// or https:// URL */
        url?: string;
        method?: "GET" | "HEAD";
        expectStatus?: number;
        maxBodyBytes?: number;
        /** A host name (dot-separated labels of letters, digits, '_' or '-') or an IP address (IPv4, or IPv6 without brackets); no port, path or scheme */
        host?: string;
        port?: number;
        ttlMs?: number;
        intervalMs?: number;
        timeoutMs?: number;
        jitter?: number;
        successBeforePassing?: number;
        failuresBeforeCritical?: number;
        deregisterAfterMs?: number;
        initialStatus?: "passing" | "warning" | "critical";
      };
    };
    output: {
      instance: {
        id: string;
        name: string;
        address: string;
        port: number;
        tags: Array<string>;
        meta: Record<string, string>;
        version: string | null;
        weight: number;
        state: "passing" | "warning" | "critical" | "maintenance";
        maintenance: {
          reason: string;
          since: string;
        } | null;
        registeredAt: string;
        updatedAt: string;
        lastHeartbeatAt: string | null;
        checks: Array<{
          id: string;
          kind: "http" | "tcp" | "ttl";
          /** What the check probes, in words: a URL, host:port or "heartbeat every N ms" */
          target: string;
          intervalMs: number;
          status: "passing" | "warning" | "critical";
          /** The last result, truncated */
          output: string;
          checkedAt: string | null;
          changedAt: string;
          criticalSince: string | null;
          deregisterAfterMs: number | null;
          /** Status changes, newest first */
          history?: Array<{
            at: string;
            status: "passing" | "warning" | "critical";
            output: string;
          }>;
        }>;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "jobs.stats": {
    input: Record<string, never>;
    output: {
      backend: "sqlite" | "bullmq";
      types: Array<string>;
      /** The types jobs.enqueue takes: all but those Pilothouse enqueues itself */
      enqueueable: Array<string>;
      queues: Array<{
        type: string;
        concurrency: number;
        running: number;
        counts: {
          waiting: number;
          delayed: number;
          active: number;
          "waiting-children": number;
          completed: number;
          dead: number;
          cancelled: number;
        };
        throughput: Array<{
          at: string;
          completed: number;
          failed: number;
        }>;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "jobs.list": {
    input: {
      state?: "waiting" | "delayed" | "active" | "waiting-children" | "completed" | "dead" | "cancelled";
      type?: string;
      parentId?: string;
      /** A job's id, its idempotency key, or a part of its type */
      search?: string;
      /** Only jobs created at or after this instant */
      createdAfter?: string;
      /** Only jobs created before this instant */
      createdBefore?: string;
      /** Default newest */
      sort?: "newest" | "oldest";
      /** The children of each of these jobs in one read, up to `limit` per parent (not with parentId or offset) */
      parentIds?: Array<string>;
      limit?: number;
      /** The previous page's nextCursor: the jobs after its last one in the list's order (jobs enqueued since are not repeated) */
      cursor?: string;
      /** Jobs to skip; a page is read from the newest, so deep pages cost more (prefer cursor) */
      offset?: number;
    };
    output: {
      jobs: Array<{
        id: string;
        type: string;
        payload: unknown;
        state: "waiting" | "delayed" | "active" | "waiting-children" | "completed" | "dead" | "cancelled";
        priority: number;
        runAt: string;
        attemptsMade: number;
        maxAttempts: number;
        timeoutMs: number | null;
        idempotencyKey: string | null;
        repeatCron: string | null;
        parentId: string | null;
        childPolicy: "fail-parent" | "ignore" | "continue-parent";
        pendingChildren: number;
        progress: number;
        progressMessage: string | null;
        result: unknown;
        lastError: string | null;
        errors: Array<string>;
        cancelRequested: boolean;
        createdAt: string;
        startedAt: string | null;
        finishedAt: string | null;
        /** Who enqueued it, as the audit log names callers (key:<id>, desktop); null when not recorded */
        createdBy: string | null;
        /** The node the job must run on (its target is there); null: any node */
        node: string | null;
        /** Why a waiting job is not running, e.g. its node is offline */
        waitingFor: string | null;
      }>;
      /** Every job the filters match, on every page */
      total: number;
      /** Pass as cursor for the next page; null on the last */
      nextCursor: string | null;
    };
    minRole: "viewer";
    mutating: false;
  };
  "jobs.get": {
    input: {
      id: string;
    };
    output: {
      job: {
        id: string;
        type: string;
        payload: unknown;
        state: "waiting" | "delayed" | "active" | "waiting-children" | "completed" | "dead" | "cancelled";
        priority: number;
        runAt: string;
        attemptsMade: number;
        maxAttempts: number;
        timeoutMs: number | null;
        idempotencyKey: string | null;
        repeatCron: string | null;
        parentId: string | null;
        childPolicy: "fail-parent" | "ignore" | "continue-parent";
        pendingChildren: number;
        progress: number;
        progressMessage: string | null;
        result: unknown;
        lastError: string | null;
        errors: Array<string>;
        cancelRequested: boolean;
        createdAt: string;
        startedAt: string | null;
        finishedAt: string | null;
        /** Who enqueued it, as the audit log names callers (key:<id>, desktop); null when not recorded */
        createdBy: string | null;
        /** The node the job must run on (its target is there); null: any node */
        node: string | null;
        /** Why a waiting job is not running, e.g. its node is offline */
        waitingFor: string | null;
      };
      logs: Array<{
        at: string;
        message: string;
      }>;
      children: Array<{
        id: string;
        type: string;
        payload: unknown;
        state: "waiting" | "delayed" | "active" | "waiting-children" | "completed" | "dead" | "cancelled";
        priority: number;
        runAt: string;
        attemptsMade: number;
        maxAttempts: number;
        timeoutMs: number | null;
        idempotencyKey: string | null;
        repeatCron: string | null;
        parentId: string | null;
        childPolicy: "fail-parent" | "ignore" | "continue-parent";
        pendingChildren: number;
        progress: number;
        progressMessage: string | null;
        result: unknown;
        lastError: string | null;
        errors: Array<string>;
        cancelRequested: boolean;
        createdAt: string;
        startedAt: string | null;
        finishedAt: string | null;
        /** Who enqueued it, as the audit log names callers (key:<id>, desktop); null when not recorded */
        createdBy: string | null;
        /** The node the job must run on (its target is there); null: any node */
        node: string | null;
        /** Why a waiting job is not running, e.g. its node is offline */
        waitingFor: string | null;
      }>;
      /** Progress over time, oldest first: at most one point a second, the first 300 */
      timeline: Array<{
        at: string;
        progress: number;
        message: string | null;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "jobs.attempts": {
    input: {
      id: string;
    };
    output: {
      attempts: Array<{
        attempt: number;
        /** When it failed; null where the queue keeps no time for it */
        at: string | null;
        error: string;
        stack: string | null;
      }>;
    };
    minRole: "operator";
    mutating: false;
  };
  "jobs.promote": {
    input: {
      id: string;
    };
    output: {
      job: {
        id: string;
        type: string;
        payload: unknown;
        state: "waiting" | "delayed" | "active" | "waiting-children" | "completed" | "dead" | "cancelled";
        priority: number;
        runAt: string;
        attemptsMade: number;
        maxAttempts: number;
        timeoutMs: number | null;
        idempotencyKey: string | null;
        repeatCron: string | null;
        parentId: string | null;
        childPolicy: "fail-parent" | "ignore" | "continue-parent";
        pendingChildren: number;
        progress: number;
        progressMessage: string | null;
        result: unknown;
        lastError: string | null;
        errors: Array<string>;
        cancelRequested: boolean;
        createdAt: string;
        startedAt: string | null;
        finishedAt: string | null;
        /** Who enqueued it, as the audit log names callers (key:<id>, desktop); null when not recorded */
        createdBy: string | null;
        /** The node the job must run on (its target is there); null: any node */
        node: string | null;
        /** Why a waiting job is not running, e.g. its node is offline */
        waitingFor: string | null;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "jobs.retryDead": {
    input: {
      type: string;
      /** At most this many, oldest first; default 10000 */
      limit?: number;
    };
    output: {
      retried: number;
      /** Jobs that could not be retried */
      failed: Array<{
        id: string;
        code: string;
      }>;
    };
    minRole: "operator";
    mutating: true;
  };
  "jobs.enqueue": {
    input: {
      /** 1-100 letters, digits, '_', '.', ':' or '-' */
      type: string;
      payload?: unknown;
      priority?: number;
      delayMs?: number;
      attempts?: number;
      backoffMs?: number;
      timeoutMs?: number;
      idempotencyKey?: string;
      repeat?: {
        cron: string;
      };
      children?: Array<{
        /** 1-100 letters, digits, '_', '.', ':' or '-' */
        type: string;
        payload?: unknown;
        priority?: number;
        delayMs?: number;
        attempts?: number;
        backoffMs?: number;
        timeoutMs?: number;
        idempotencyKey?: string;
        policy?: "fail-parent" | "ignore" | "continue-parent";
      }>;
    };
    output: {
      job: {
        id: string;
        type: string;
        payload: unknown;
        state: "waiting" | "delayed" | "active" | "waiting-children" | "completed" | "dead" | "cancelled";
        priority: number;
        runAt: string;
        attemptsMade: number;
        maxAttempts: number;
        timeoutMs: number | null;
        idempotencyKey: string | null;
        repeatCron: string | null;
        parentId: string | null;
        childPolicy: "fail-parent" | "ignore" | "continue-parent";
        pendingChildren: number;
        progress: number;
        progressMessage: string | null;
        result: unknown;
        lastError: string | null;
        errors: Array<string>;
        cancelRequested: boolean;
        createdAt: string;
        startedAt: string | null;
        finishedAt: string | null;
        /** Who enqueued it, as the audit log names callers (key:<id>, desktop); null when not recorded */
        createdBy: string | null;
        /** The node the job must run on (its target is there); null: any node */
        node: string | null;
        /** Why a waiting job is not running, e.g. its node is offline */
        waitingFor: string | null;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "jobs.cancel": {
    input: {
      id: string;
    };
    output: {
      job: {
        id: string;
        type: string;
        payload: unknown;
        state: "waiting" | "delayed" | "active" | "waiting-children" | "completed" | "dead" | "cancelled";
        priority: number;
        runAt: string;
        attemptsMade: number;
        maxAttempts: number;
        timeoutMs: number | null;
        idempotencyKey: string | null;
        repeatCron: string | null;
        parentId: string | null;
        childPolicy: "fail-parent" | "ignore" | "continue-parent";
        pendingChildren: number;
        progress: number;
        progressMessage: string | null;
        result: unknown;
        lastError: string | null;
        errors: Array<string>;
        cancelRequested: boolean;
        createdAt: string;
        startedAt: string | null;
        finishedAt: string | null;
        /** Who enqueued it, as the audit log names callers (key:<id>, desktop); null when not recorded */
        createdBy: string | null;
        /** The node the job must run on (its target is there); null: any node */
        node: string | null;
        /** Why a waiting job is not running, e.g. its node is offline */
        waitingFor: string | null;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "jobs.retry": {
    input: {
      id: string;
    };
    output: {
      job: {
        id: string;
        type: string;
        payload: unknown;
        state: "waiting" | "delayed" | "active" | "waiting-children" | "completed" | "dead" | "cancelled";
        priority: number;
        runAt: string;
        attemptsMade: number;
        maxAttempts: number;
        timeoutMs: number | null;
        idempotencyKey: string | null;
        repeatCron: string | null;
        parentId: string | null;
        childPolicy: "fail-parent" | "ignore" | "continue-parent";
        pendingChildren: number;
        progress: number;
        progressMessage: string | null;
        result: unknown;
        lastError: string | null;
        errors: Array<string>;
        cancelRequested: boolean;
        createdAt: string;
        startedAt: string | null;
        finishedAt: string | null;
        /** Who enqueued it, as the audit log names callers (key:<id>, desktop); null when not recorded */
        createdBy: string | null;
        /** The node the job must run on (its target is there); null: any node */
        node: string | null;
        /** Why a waiting job is not running, e.g. its node is offline */
        waitingFor: string | null;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "jobs.delete": {
    input: {
      id: string;
    };
    output: {
      deleted: boolean;
    };
    minRole: "operator";
    mutating: true;
  };
  "batch.submit": {
    input: {
      batch: {
        mode?: "atomic" | "non-atomic";
        continueOnError?: boolean;
        operations: Array<{
          resource: string;
          action: "create" | "update" | "delete" | "custom";
          id?: string;
          data?: unknown;
          name?: string;
        }>;
      };
      background?: boolean;
    };
    output: {
      report: {
        batchId: string;
        /** The node whose database the batch was applied to, when read from the fleet */
        node?: string;
        mode: "atomic" | "non-atomic";
        status: "running" | "succeeded" | "failed" | "partial";
        counts: {
          pending: number;
          succeeded: number;
          failed: number;
          skipped: number;
        };
        errors: Array<{
          index: number;
          code: string;
          message: string;
        }>;
        operations: Array<{
          index: number;
          status: "pending" | "succeeded" | "failed" | "skipped";
          error?: {
            code: string;
            message: string;
          };
          result?: unknown;
        }>;
        startedAt: string;
        finishedAt: string | null;
        durationMs: number;
      } | null;
      jobId: string | null;
    };
    minRole: "operator";
    mutating: true;
  };
  "batch.status": {
    input: {
      id: string;
    };
    output: {
      batchId: string;
      /** The node whose database the batch was applied to, when read from the fleet */
      node?: string;
      mode: "atomic" | "non-atomic";
      status: "running" | "succeeded" | "failed" | "partial";
      counts: {
        pending: number;
        succeeded: number;
        failed: number;
        skipped: number;
      };
      errors: Array<{
        index: number;
        code: string;
        message: string;
      }>;
      operations: Array<{
        index: number;
        status: "pending" | "succeeded" | "failed" | "skipped";
        error?: {
          code: string;
          message: string;
        };
        result?: unknown;
      }>;
      startedAt: string;
      finishedAt: string | null;
      durationMs: number;
    };
    minRole: "viewer";
    mutating: false;
  };
  "batch.reports": {
    input: {
      ids: Array<string>;
    };
    output: {
      reports: Array<{
        batchId: string;
        /** The node whose database the batch was applied to, when read from the fleet */
        node?: string;
        mode: "atomic" | "non-atomic";
        status: "running" | "succeeded" | "failed" | "partial";
        counts: {
          pending: number;
          succeeded: number;
          failed: number;
          skipped: number;
        };
        errors: Array<{
          index: number;
          code: string;
          message: string;
        }>;
        operations: Array<{
          index: number;
          status: "pending" | "succeeded" | "failed" | "skipped";
          error?: {
            code: string;
            message: string;
          };
          result?: unknown;
        }>;
        startedAt: string;
        finishedAt: string | null;
        durationMs: number;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "batch.list": {
    input: {
      limit?: number;
    };
    output: {
      batches: Array<{
        batchId: string;
        mode: string;
        status: string;
        createdAt: string;
        finishedAt: string | null;
        /** The node whose database the batch was applied to */
        node?: string;
      }>;
      resources: Array<string>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "cache.get": {
    input: {
      /** 1-64 letters, digits, ., _ or -; not '.' or '..' */
      namespace: string;
      /** At most 512 bytes */
      key: string;
    };
    output: {
      namespace: string;
      key: string;
      value: unknown;
      /** true when the value is past its ttl, served within its grace because a tier (Redis) failed; absent for a fresh value */
      stale?: boolean;
    };
    minRole: "operator";
    mutating: false;
  };
  "cache.put": {
    input: {
      /** 1-64 letters, digits, ., _ or -; not '.' or '..' */
      namespace: string;
      /** At most 512 bytes */
      key: string;
      /** Any JSON value */
      value: unknown;
      /** Milliseconds, more than 0 */
      ttl?: number;
      /** Milliseconds */
      grace?: number;
      tags?: Array<string>;
    };
    output: {
      namespace: string;
      key: string;
    };
    minRole: "operator";
    mutating: true;
  };
  "cache.delete": {
    input: {
      /** 1-64 letters, digits, ., _ or -; not '.' or '..' */
      namespace: string;
      /** At most 512 bytes */
      key: string;
    };
    output: {
      removed: number;
    };
    minRole: "operator";
    mutating: true;
  };
  "cache.stats": {
    input: Record<string, never>;
    output: {
      nodeId: string;
      at: string;
      redis: {
        configured: boolean;
        state: "not-configured" | "connecting" | "up" | "breaker-open" | "down" | "stopped";
        breakerOpens: number;
        failures: number;
        outbox: number;
        busMessages: number;
        resyncs: number;
      };
      totals: {
        counters: {
          l1Hits: number;
          l2Hits: number;
          l3Hits: number;
          misses: number;
          staleServes: number;
          loaderCalls: number;
          loaderErrors: number;
          loaderTimeouts: number;
          sets: number;
          deletes: number;
          earlyRefreshes: number;
          l1Evictions: number;
          l2Errors: number;
        };
        hitRatio: number | null;
      };
      l3: {
        enabled: boolean;
        entries: number;
        bytes: number;
        maxBytes: number;
      };
      namespaces: Array<{
        name: string;
        counters: {
          l1Hits: number;
          l2Hits: number;
          l3Hits: number;
          misses: number;
          staleServes: number;
          loaderCalls: number;
          loaderErrors: number;
          loaderTimeouts: number;
          sets: number;
          deletes: number;
          earlyRefreshes: number;
          l1Evictions: number;
          l2Errors: number;
        };
        hitRatio: number | null;
        l1Entries: number;
        l1Bytes: number;
        l1MaxEntries: number;
        l1MaxBytes: number;
        latency: {
          l1: {
            count: number;
            p50: number;
            p90: number;
            p99: number;
            max: number;
          };
          l2: {
            count: number;
            p50: number;
            p90: number;
            p99: number;
            max: number;
          };
          l3: {
            count: number;
            p50: number;
            p90: number;
            p99: number;
            max: number;
          };
          loader: {
            count: number;
            p50: number;
            p90: number;
            p99: number;
            max: number;
          };
        };
      }>;
      history: Array<{
        at: string;
        l1Hits: number;
        l2Hits: number;
        l3Hits: number;
        misses: number;
        staleServes: number;
        hitRatio: number | null;
        namespaces: Record<string, number | null>;
      }>;
      hottest: Array<{
        namespace: string;
        key: string;
        samples: number;
      }>;
      largest: Array<{
        namespace: string;
        key: string;
        size: number;
      }>;
      recommendations: Array<string>;
      /** The namespaces with a warm-up list on this node: what cache.warm can run here */
      warmups: Array<string>;
      /** True when hottest and largest are left empty: key names are for operators (a viewer, and the periodic event) */
      keysHidden: boolean;
    };
    minRole: "viewer";
    mutating: false;
  };
  "cache.keys": {
    input: {
      /** 1-64 letters, digits, '_', '.' or '-'; not '.' or '..' */
      namespace: string;
      prefix?: string;
      /** Keys matching it, where * stands for any run of characters */
      pattern?: string;
      /** Only keys held in this tier */
      tier?: "l1" | "l2" | "l3";
      /** The previous page's nextCursor */
      cursor?: string;
      limit?: number;
    };
    output: {
      keys: Array<{
        key: string;
        tiers: Array<"l1" | "l2" | "l3">;
        size: number;
        expiresAt: string | null;
        tags: Array<string>;
      }>;
      /** Every key the filters match, across the tiers, on every page */
      total: number;
      /** Pass as cursor for the next page; null on the last */
      nextCursor: string | null;
      /** Tiers that could not be read for this page (l2: Redis down, its breaker open or its SCAN failed): keys held only there are missing from keys and total. Empty when every configured tier answered */
      unavailable: Array<"l2">;
    };
    minRole: "operator";
    mutating: false;
  };
  "cache.inspect": {
    input: {
      /** 1-64 letters, digits, '_', '.' or '-'; not '.' or '..' */
      namespace: string;
      key: string;
    };
    output: {
      namespace: string;
      key: string;
      tiers: {
        l1: {
          size: number;
          freshUntil: number;
          staleUntil: number;
          createdAt: number;
          tags: Array<string>;
          fresh: boolean;
        } | null;
        l2: {
          size: number;
          freshUntil: number;
          staleUntil: number;
          createdAt: number;
          tags: Array<string>;
          fresh: boolean;
        } | null;
        l3: {
          size: number;
          freshUntil: number;
          staleUntil: number;
          createdAt: number;
          tags: Array<string>;
          fresh: boolean;
        } | null;
      };
      preview: string | null;
      /** The value itself, when its JSON is at most 256 KiB (for a tree view) */
      value?: unknown;
    };
    minRole: "operator";
    mutating: false;
  };
  "cache.invalidate": {
    input: {
      /** 1-64 letters, digits, '_', '.' or '-'; not '.' or '..' */
      namespace: string;
      keys?: Array<string>;
      tags?: Array<string>;
    };
    output: {
      removed: number;
    };
    minRole: "operator";
    mutating: true;
  };
  "cache.invalidateMatching": {
    input: {
      /** 1-64 letters, digits, '_', '.' or '-'; not '.' or '..' */
      namespace: string;
      /** Keys matching it, where * stands for any run of characters */
      pattern: string;
    };
    output: {
      matched: number;
      removed: number;
      /** Tiers that could not be read while matching (l2: Redis down, its breaker open or its SCAN failed): keys held only there were neither counted in matched nor dropped; call again once Redis answers to drop them. Empty when every configured tier answered */
      unavailable: Array<"l2">;
    };
    minRole: "operator";
    mutating: true;
  };
  "cache.clear": {
    input: {
      /** 1-64 letters, digits, '_', '.' or '-'; not '.' or '..' */
      namespace?: string;
      everything?: boolean;
    };
    output: {
      removed: number;
      namespaces: Array<string>;
    };
    minRole: "operator";
    mutating: true;
  };
  "cache.warm": {
    input: {
      /** 1-64 letters, digits, '_', '.' or '-'; not '.' or '..' */
      namespace?: string;
    };
    output: {
      results: Array<{
        namespace: string;
        total: number;
        done: number;
        fromCache: number;
        loaded: number;
        failed: number;
        finished: boolean;
      }>;
    };
    minRole: "operator";
    mutating: true;
  };
  "realtime.stats": {
    input: Record<string, never>;
    output: {
      node: string;
      backplane: "local" | "redis";
      healthy: boolean;
      connections: number;
      byUser: Array<{
        user: string;
        connections: number;
      }>;
      byNode: Array<{
        node: string;
        connections: number;
        at: number;
      }>;
      rooms: Array<{
        room: string;
        members: number;
        users: number;
        messagesPerSecond: number;
      }>;
      /** Users present across this node's rooms */
      presence: number;
      slowClients: Array<{
        session: string;
        user: string;
        heldBytes: number;
        queued: {
          high: number;
          normal: number;
          low: number;
        };
        dropped: number;
      }>;
      lanes: {
        high: number;
        normal: number;
        low: number;
      };
      rates: {
        publishedPerSecond: number;
        deliveredPerSecond: number;
        inboundPerSecond: number;
      };
      totals: {
        published: number;
        delivered: number;
        dropped: number;
        coalesced: number;
        retried: number;
        ackExpired: number;
        rateLimited: number;
        closedOverflow: number;
        closedHeartbeat: number;
      };
    };
    minRole: "viewer";
    mutating: false;
  };
  "realtime.presence": {
    input: {
      /** 1-128 letters, digits, '_', '.', ':', '@' or '-' */
      room: string;
    };
    output: {
      room: string;
      members: Array<{
        user: string;
        meta: Record<string, unknown>;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "realtime.history": {
    input: {
      /** 1-128 letters, digits, '_', '.', ':', '@' or '-' */
      room: string;
      limit?: number;
    };
    output: {
      room: string;
      position: {
        epoch: string;
        offset: number;
      } | null;
      messages: Array<{
        mid: string;
        room: string;
        epoch: string;
        offset: number;
        lane: string;
        from: string;
        at: number;
        data: unknown;
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "realtime.publish": {
    input: {
      /** 1-128 letters, digits, '_', '.', ':', '@' or '-' */
      room: string;
      data: unknown;
    };
    output: {
      mid: string;
      position: {
        epoch: string;
        offset: number;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "webhooks.list": {
    input: Record<string, never>;
    output: {
      endpoints: Array<{
        id: string;
        url: string;
        description: string;
        eventTypes: Array<"job.finished" | "job.dead" | "backup.done" | "backup.failed" | "backup.cancelled" | "alert.fired" | "alert.resolved" | "service.health" | "service.deregistered" | "key.revoked" | "webhook.endpoint.disabled" | "webhook.ping">;
        filter: Record<string, string | number | boolean>;
        enabled: boolean;
        disabledReason: string | null;
        activeSecrets: number;
        createdAt: string;
        updatedAt: string;
      }>;
      eventTypes: Array<"job.finished" | "job.dead" | "backup.done" | "backup.failed" | "backup.cancelled" | "alert.fired" | "alert.resolved" | "service.health" | "service.deregistered" | "key.revoked" | "webhook.endpoint.disabled" | "webhook.ping">;
    };
    minRole: "operator";
    mutating: false;
  };
  "webhooks.create": {
    input: {
      /** An http:// or https:// URL */
      url: string;
      eventTypes: Array<"job.finished" | "job.dead" | "backup.done" | "backup.failed" | "backup.cancelled" | "alert.fired" | "alert.resolved" | "service.health" | "service.deregistered" | "key.revoked" | "webhook.endpoint.disabled" | "webhook.ping">;
      filter?: Record<string, string | number | boolean>;
      description?: string;
    };
    output: {
      endpoint: {
        id: string;
        url: string;
        description: string;
        eventTypes: Array<"job.finished" | "job.dead" | "backup.done" | "backup.failed" | "backup.cancelled" | "alert.fired" | "alert.resolved" | "service.health" | "service.deregistered" | "key.revoked" | "webhook.endpoint.disabled" | "webhook.ping">;
        filter: Record<string, string | number | boolean>;
        enabled: boolean;
        disabledReason: string | null;
        activeSecrets: number;
        createdAt: string;
        updatedAt: string;
      };
      secret: string;
    };
    minRole: "admin";
    mutating: true;
  };
  "webhooks.update": {
    input: {
      id: string;
      /** An http:// or https:// URL */
      url?: string;
      eventTypes?: Array<"job.finished" | "job.dead" | "backup.done" | "backup.failed" | "backup.cancelled" | "alert.fired" | "alert.resolved" | "service.health" | "service.deregistered" | "key.revoked" | "webhook.endpoint.disabled" | "webhook.ping">;
      filter?: Record<string, string | number | boolean>;
      description?: string;
      enabled?: boolean;
    };
    output: {
      endpoint: {
        id: string;
        url: string;
        description: string;
        eventTypes: Array<"job.finished" | "job.dead" | "backup.done" | "backup.failed" | "backup.cancelled" | "alert.fired" | "alert.resolved" | "service.health" | "service.deregistered" | "key.revoked" | "webhook.endpoint.disabled" | "webhook.ping">;
        filter: Record<string, string | number | boolean>;
        enabled: boolean;
        disabledReason: string | null;
        activeSecrets: number;
        createdAt: string;
        updatedAt: string;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "webhooks.delete": {
    input: {
      id: string;
    };
    output: {
      deleted: boolean;
    };
    minRole: "admin";
    mutating: true;
  };
  "webhooks.rotate": {
    input: {
      id: string;
      overlapSeconds?: number;
    };
    output: {
      endpoint: {
        id: string;
        url: string;
        description: string;
        eventTypes: Array<"job.finished" | "job.dead" | "backup.done" | "backup.failed" | "backup.cancelled" | "alert.fired" | "alert.resolved" | "service.health" | "service.deregistered" | "key.revoked" | "webhook.endpoint.disabled" | "webhook.ping">;
        filter: Record<string, string | number | boolean>;
        enabled: boolean;
        disabledReason: string | null;
        activeSecrets: number;
        createdAt: string;
        updatedAt: string;
      };
      secret: string;
      previousExpiresAt: string | null;
    };
    minRole: "admin";
    mutating: true;
  };
  "webhooks.test": {
    input: {
      id: string;
    };
    output: {
      delivery: {
        id: string;
        endpointId: string;
        eventId: string;
        eventType: "job.finished" | "job.dead" | "backup.done" | "backup.failed" | "backup.cancelled" | "alert.fired" | "alert.resolved" | "service.health" | "service.deregistered" | "key.revoked" | "webhook.endpoint.disabled" | "webhook.ping";
        status: "pending" | "retrying" | "delivered" | "failed";
        attempts: number;
        lastStatus: number | null;
        lastError: string | null;
        nextAttemptAt: string | null;
        createdAt: string;
        finishedAt: string | null;
        body: string;
        log: Array<{
          attempt: number;
          at: string;
          statusCode: number | null;
          durationMs: number;
          error: string | null;
          response: string | null;
        }>;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "webhooks.deliveries": {
    input: {
      endpointId?: string;
      status?: "pending" | "retrying" | "delivered" | "failed";
      /** Default 50 */
      limit?: number;
      /** Deliveries to skip, newest first */
      offset?: number;
    };
    output: {
      deliveries: Array<{
        id: string;
        endpointId: string;
        eventId: string;
        eventType: "job.finished" | "job.dead" | "backup.done" | "backup.failed" | "backup.cancelled" | "alert.fired" | "alert.resolved" | "service.health" | "service.deregistered" | "key.revoked" | "webhook.endpoint.disabled" | "webhook.ping";
        status: "pending" | "retrying" | "delivered" | "failed";
        attempts: number;
        lastStatus: number | null;
        lastError: string | null;
        nextAttemptAt: string | null;
        createdAt: string;
        finishedAt: string | null;
        body: string;
        log: Array<{
          attempt: number;
          at: string;
          statusCode: number | null;
          durationMs: number;
          error: string | null;
          response: string | null;
        }>;
      }>;
      /** Every delivery the filters match, on every page */
      total: number;
    };
    minRole: "operator";
    mutating: false;
  };
  "webhooks.redeliver": {
    input: {
      ids?: Array<string>;
      failedOf?: string;
    };
    output: {
      queued: number;
    };
    minRole: "operator";
    mutating: true;
  };
  "ratelimit.tiers": {
    input: Record<string, never>;
    output: {
      tiers: Array<{
        /** 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit */
        name: string;
        /** A whole number of requests per window from 1 to 10,000,000, or null for no limit */
        limit: number | null;
        windowSeconds: number;
        burst: number;
        builtin?: boolean;
      }>;
      keys: Array<{
        keyId: string;
        name: string;
        role: string;
        tier: string;
        assigned: boolean;
        used: number;
        limit: number | null;
        resetSeconds: number;
        refusedLastDay: number;
      }>;
      backend: "memory" | "redis" | "memory (Redis unreachable)";
    };
    minRole: "operator";
    mutating: false;
  };
  "ratelimit.tiers.save": {
    input: {
      tier: {
        /** 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit */
        name: string;
        /** A whole number of requests per window from 1 to 10,000,000, or null for no limit */
        limit: number | null;
        windowSeconds: number;
        burst: number;
        builtin?: boolean;
      };
    };
    output: {
      tier: {
        /** 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit */
        name: string;
        /** A whole number of requests per window from 1 to 10,000,000, or null for no limit */
        limit: number | null;
        windowSeconds: number;
        burst: number;
        builtin?: boolean;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "ratelimit.tiers.delete": {
    input: {
      /** 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit */
      name: string;
    };
    output: {
      deleted: boolean;
      keysMoved: number;
    };
    minRole: "admin";
    mutating: true;
  };
  "ratelimit.keys.assign": {
    input: {
      id: string;
      tier: string | null;
    };
    output: {
      key: {
        keyId: string;
        name: string;
        role: string;
        tier: string;
        assigned: boolean;
        used: number;
        limit: number | null;
        resetSeconds: number;
        refusedLastDay: number;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "graphql.persisted.list": {
    input: Record<string, never>;
    output: {
      enforced: boolean;
      queries: Array<{
        /** SHA-256 of the query text, hex: what a client may send instead of the text */
        hash: string;
        name: string;
        query: string;
        savedAt: string;
      }>;
    };
    minRole: "operator";
    mutating: false;
  };
  "graphql.persisted.save": {
    input: {
      name: string;
      query: string;
    };
    output: {
      query: {
        /** SHA-256 of the query text, hex: what a client may send instead of the text */
        hash: string;
        name: string;
        query: string;
        savedAt: string;
      };
    };
    minRole: "admin";
    mutating: true;
  };
  "graphql.persisted.delete": {
    input: {
      hash: string;
    };
    output: {
      deleted: boolean;
    };
    minRole: "admin";
    mutating: true;
  };
  "graphql.persisted.enforce": {
    input: {
      enabled: boolean;
    };
    output: {
      enforced: boolean;
    };
    minRole: "admin";
    mutating: true;
  };
  "sagas.start": {
    input: {
      type: string;
      input?: unknown;
      idempotencyKey?: string;
    };
    output: {
      saga: {
        id: string;
        type: string;
        state: "running" | "compensating" | "completed" | "compensated" | "cancelled" | "stuck";
        input: unknown;
        failure: string | null;
        cancelRequested: boolean;
        jobId: string | null;
        createdAt: string;
        updatedAt: string;
        finishedAt: string | null;
        steps: Array<{
          name: string;
          state: "pending" | "running" | "done" | "failed" | "compensating" | "compensated" | "stuck";
          attempts: number;
          compensationAttempts: number;
          idempotencyId: string;
          errors: Array<{
            at: string;
            phase: "action" | "compensation";
            message: string;
          }>;
          startedAt: string | null;
          finishedAt: string | null;
          compensatedAt: string | null;
        }>;
      };
    };
    minRole: "operator";
    mutating: true;
  };
  "sagas.get": {
    input: {
      id: string;
    };
    output: {
      saga: {
        id: string;
        type: string;
        state: "running" | "compensating" | "completed" | "compensated" | "cancelled" | "stuck";
        input: unknown;
        failure: string | null;
        cancelRequested: boolean;
        jobId: string | null;
        createdAt: string;
        updatedAt: string;
        finishedAt: string | null;
        steps: Array<{
          name: string;
          state: "pending" | "running" | "done" | "failed" | "compensating" | "compensated" | "stuck";
          attempts: number;
          compensationAttempts: number;
          idempotencyId: string;
          errors: Array<{
            at: string;
            phase: "action" | "compensation";
            message: string;
          }>;
          startedAt: string | null;
          finishedAt: string | null;
          compensatedAt: string | null;
        }>;
      };
    };
    minRole: "viewer";
    mutating: false;
  };
  "sagas.list": {
    input: {
      state?: "running" | "compensating" | "completed" | "compensated" | "cancelled" | "stuck";
      type?: string;
      limit?: number;
      /** Sagas to skip */
      offset?: number;
    };
    output: {
      sagas: Array<{
        id: string;
        type: string;
        state: "running" | "compensating" | "completed" | "compensated" | "cancelled" | "stuck";
        input: unknown;
        failure: string | null;
        cancelRequested: boolean;
        jobId: string | null;
        createdAt: string;
        updatedAt: string;
        finishedAt: string | null;
        steps: Array<{
          name: string;
          state: "pending" | "running" | "done" | "failed" | "compensating" | "compensated" | "stuck";
          attempts: number;
          compensationAttempts: number;
          idempotencyId: string;
          errors: Array<{
            at: string;
            phase: "action" | "compensation";
            message: string;
          }>;
          startedAt: string | null;
          finishedAt: string | null;
          compensatedAt: string | null;
        }>;
      }>;
      total: number;
      types: Array<{
        type: string;
        description: string;
        steps: Array<string>;
        startRole: "viewer" | "operator" | "admin";
      }>;
    };
    minRole: "viewer";
    mutating: false;
  };
  "sagas.cancel": {
    input: {
      id: string;
    };
    output: {
      saga: {
        id: string;
        type: string;
        state: "running" | "compensating" | "completed" | "compensated" | "cancelled" | "stuck";
        input: unknown;
        failure: string | null;
        cancelRequested: boolean;
        jobId: string | null;
        createdAt: string;
        updatedAt: string;
        finishedAt: string | null;
        steps: Array<{
          name: string;
          state: "pending" | "running" | "done" | "failed" | "compensating" | "compensated" | "stuck";
          attempts: number;
          compensationAttempts: number;
          idempotencyId: string;
          errors: Array<{
            at: string;
            phase: "action" | "compensation";
            message: string;
          }>;
          startedAt: string | null;
          finishedAt: string | null;
          compensatedAt: string | null;
        }>;
      };
    };
    minRole: "operator";
    mutating: true;
  };
}
export type OperationName = keyof OperationTypes;
export type OperationInput<N extends OperationName> = OperationTypes[N]['input'];
export type OperationOutput<N extends OperationName> = OperationTypes[N]['output'];

export const operationNames: readonly OperationName[] = ["system.status","system.config","keys.list","keys.create","keys.revoke","keys.pin","keys.update","audit.list","audit.verify","sessions.logout","sessions.rotate","backup.sources.list","backup.sources.register","backup.sources.update","backup.sources.remove","backup.snapshot","backup.snapshot.cancel","backup.snapshots.list","backup.export","backup.verify","backup.verifications.list","backup.restore.plan","backup.restore","backup.prune","backup.history","backup.key.status","backup.key.unlock","backup.key.passphrase","backup.key.export","backup.replicas.list","backup.replicas.add","backup.replicas.remove","backup.replicas.sync","backup.replicas.verify","backup.replicas.restore","monitoring.overview","monitoring.operations","monitoring.thresholds.set","monitoring.health","monitoring.system","monitoring.series","monitoring.history","monitoring.alerts","monitoring.alerts.history","monitoring.alerts.save","monitoring.alerts.delete","monitoring.alerts.acknowledge","monitoring.alerts.silence","monitoring.usage","monitoring.usage.export","services.register","services.deregister","services.heartbeat","services.list","services.summary","services.get","services.watch","services.maintenance","services.pick","services.configure","services.traffic","services.discovered","services.adopt","jobs.stats","jobs.list","jobs.get","jobs.attempts","jobs.promote","jobs.retryDead","jobs.enqueue","jobs.cancel","jobs.retry","jobs.delete","batch.submit","batch.status","batch.reports","batch.list","cache.get","cache.put","cache.delete","cache.stats","cache.keys","cache.inspect","cache.invalidate","cache.invalidateMatching","cache.clear","cache.warm","realtime.stats","realtime.presence","realtime.history","realtime.publish","webhooks.list","webhooks.create","webhooks.update","webhooks.delete","webhooks.rotate","webhooks.test","webhooks.deliveries","webhooks.redeliver","ratelimit.tiers","ratelimit.tiers.save","ratelimit.tiers.delete","ratelimit.keys.assign","graphql.persisted.list","graphql.persisted.save","graphql.persisted.delete","graphql.persisted.enforce","sagas.start","sagas.get","sagas.list","sagas.cancel"];

/** Every event the hub delivers to `followEvents`, by name: its payload. */
export interface EventTypes {
  "system.status": {
    version: string;
    startedAt: string;
    uptimeSeconds: number;
    mode: "desktop" | "headless";
    services: Array<{
      name: string;
      state: "idle" | "starting" | "running" | "degraded" | "stopping" | "stopped" | "failed";
      detail?: string;
    }>;
    redis: {
      configured: boolean;
      connected: boolean;
      status: string;
    };
    /** Whether the server speaks HTTPS/WSS, and its certificate fingerprint */
    tls: {
      enabled: boolean;
      selfSigned: boolean;
      /** SHA-256 of the certificate the server presents (AB:CD:...): compare it, or pin it in clients */
      fingerprint256: string | null;
    };
  };
  "service.state": {
    name: string;
    state: "idle" | "starting" | "running" | "degraded" | "stopping" | "stopped" | "failed";
    detail?: string;
  };
  "audit.appended": {
    seq: number;
    at: string;
    actor: string;
    action: string;
    target: string | null;
    outcome: "ok" | "error";
    detail: string | null;
    hash: string;
    node?: string;
  };
  "auth.revoked": {
    keyId: string | null;
    sessionId: string | null;
    allSessions: boolean;
    reason: "key-revoked" | "signed-out" | "secret-rotated" | "token-revoked";
  };
  "backup.progress": {
    jobId: string;
    kind: "snapshot" | "verify" | "restore" | "prune";
    sourceId: string | null;
    snapshotId: string | null;
    phase: string;
    done: number;
    total: number;
  };
  "backup.finished": {
    jobId: string;
    kind: "snapshot" | "verify" | "restore" | "prune";
    sourceId: string | null;
    /** The snapshot the job made (snapshot) or worked on (verify, restore); null for a prune or a snapshot that ended without one */
    snapshotId: string | null;
    ok: boolean;
    /** An operator stopped it (backup.snapshot.cancel): not ok, and no failure either */
    cancelled: boolean;
    error: string | null;
  };
  "monitoring.alert": {
    ruleId: string;
    name: string;
    severity: "info" | "warning" | "critical";
    state: "inactive" | "pending" | "firing" | "resolved";
    metric: string;
    value: number | null;
    threshold: number;
    comparator: ">" | ">=" | "<" | "<=" | "==" | "!=";
    /** When it entered this state */
    since: string;
    message: string;
    acknowledgedAt?: string | null;
    acknowledgedBy?: string | null;
    silencedUntil?: string | null;
  };
  "monitoring.dependency": {
    name: string;
    status: "up" | "degraded" | "down" | "unknown";
    /** When a critical dependency is down the node is not ready */
    critical: boolean;
    detail: string;
    latencyMs: number | null;
    /** When it entered this status */
    since: string;
    checkedAt: string | null;
  };
  "monitoring.sample": {
    at: string;
    values: Record<string, number | null>;
  };
  "service.registered": {
    id: string;
    name: string;
    address: string;
    port: number;
    tags: Array<string>;
    meta: Record<string, string>;
    version: string | null;
    weight: number;
    state: "passing" | "warning" | "critical" | "maintenance";
    maintenance: {
      reason: string;
      since: string;
    } | null;
    registeredAt: string;
    updatedAt: string;
    lastHeartbeatAt: string | null;
    checks: Array<{
      id: string;
      kind: "http" | "tcp" | "ttl";
      /** What the check probes, in words: a URL, host:port or "heartbeat every N ms" */
      target: string;
      intervalMs: number;
      status: "passing" | "warning" | "critical";
      /** The last result, truncated */
      output: string;
      checkedAt: string | null;
      changedAt: string;
      criticalSince: string | null;
      deregisterAfterMs: number | null;
      /** Status changes, newest first */
      history?: Array<{
        at: string;
        status: "passing" | "warning" | "critical";
        output: string;
      }>;
    }>;
  };
  "service.health": {
    id: string;
    name: string;
    state: "passing" | "warning" | "critical" | "maintenance";
    previous: "passing" | "warning" | "critical" | "maintenance";
    check: {
      id: string;
      status: "passing" | "warning" | "critical";
      output: string;
    } | null;
    at: string;
  };
  "service.deregistered": {
    id: string;
    name: string;
    reason: string;
    at: string;
  };
  "jobs.changed": {
    id: string;
    type: string;
    state: string;
    removed: boolean;
  };
  "jobs.progress": {
    id: string;
    type: string;
    progress: number;
    message: string | null;
  };
  "cache.invalidate": {
    /** 1-64 letters, digits, '_', '.' or '-'; not '.' or '..' */
    namespace: string;
    keys?: Array<string>;
    tags?: Array<string>;
    all?: boolean;
  };
  "cache.invalidated": {
    namespace: string;
    keys?: Array<string>;
    tags?: Array<string>;
    all?: boolean;
    origin: "local" | "bus" | "resync";
  };
  "cache.written": {
    namespace: string;
    keys: Array<string>;
    origin: "local" | "bus";
  };
  "cache.stats": {
    nodeId: string;
    at: string;
    redis: {
      configured: boolean;
      state: "not-configured" | "connecting" | "up" | "breaker-open" | "down" | "stopped";
      breakerOpens: number;
      failures: number;
      outbox: number;
      busMessages: number;
      resyncs: number;
    };
    totals: {
      counters: {
        l1Hits: number;
        l2Hits: number;
        l3Hits: number;
        misses: number;
        staleServes: number;
        loaderCalls: number;
        loaderErrors: number;
        loaderTimeouts: number;
        sets: number;
        deletes: number;
        earlyRefreshes: number;
        l1Evictions: number;
        l2Errors: number;
      };
      hitRatio: number | null;
    };
    l3: {
      enabled: boolean;
      entries: number;
      bytes: number;
      maxBytes: number;
    };
    namespaces: Array<{
      name: string;
      counters: {
        l1Hits: number;
        l2Hits: number;
        l3Hits: number;
        misses: number;
        staleServes: number;
        loaderCalls: number;
        loaderErrors: number;
        loaderTimeouts: number;
        sets: number;
        deletes: number;
        earlyRefreshes: number;
        l1Evictions: number;
        l2Errors: number;
      };
      hitRatio: number | null;
      l1Entries: number;
      l1Bytes: number;
      l1MaxEntries: number;
      l1MaxBytes: number;
      latency: {
        l1: {
          count: number;
          p50: number;
          p90: number;
          p99: number;
          max: number;
        };
        l2: {
          count: number;
          p50: number;
          p90: number;
          p99: number;
          max: number;
        };
        l3: {
          count: number;
          p50: number;
          p90: number;
          p99: number;
          max: number;
        };
        loader: {
          count: number;
          p50: number;
          p90: number;
          p99: number;
          max: number;
        };
      };
    }>;
    history: Array<{
      at: string;
      l1Hits: number;
      l2Hits: number;
      l3Hits: number;
      misses: number;
      staleServes: number;
      hitRatio: number | null;
      namespaces: Record<string, number | null>;
    }>;
    hottest: Array<{
      namespace: string;
      key: string;
      samples: number;
    }>;
    largest: Array<{
      namespace: string;
      key: string;
      size: number;
    }>;
    recommendations: Array<string>;
    /** The namespaces with a warm-up list on this node: what cache.warm can run here */
    warmups: Array<string>;
    /** True when hottest and largest are left empty: key names are for operators (a viewer, and the periodic event) */
    keysHidden: boolean;
  };
  "cache.redis": {
    configured: boolean;
    state: "not-configured" | "connecting" | "up" | "breaker-open" | "down" | "stopped";
    breakerOpens: number;
    failures: number;
    outbox: number;
    busMessages: number;
    resyncs: number;
  };
  "cache.warm.progress": {
    namespace: string;
    total: number;
    done: number;
    fromCache: number;
    loaded: number;
    failed: number;
    finished: boolean;
  };
  "realtime.stats": {
    node: string;
    backplane: "local" | "redis";
    healthy: boolean;
    connections: number;
    byUser: Array<{
      user: string;
      connections: number;
    }>;
    byNode: Array<{
      node: string;
      connections: number;
      at: number;
    }>;
    rooms: Array<{
      room: string;
      members: number;
      users: number;
      messagesPerSecond: number;
    }>;
    /** Users present across this node's rooms */
    presence: number;
    slowClients: Array<{
      session: string;
      user: string;
      heldBytes: number;
      queued: {
        high: number;
        normal: number;
        low: number;
      };
      dropped: number;
    }>;
    lanes: {
      high: number;
      normal: number;
      low: number;
    };
    rates: {
      publishedPerSecond: number;
      deliveredPerSecond: number;
      inboundPerSecond: number;
    };
    totals: {
      published: number;
      delivered: number;
      dropped: number;
      coalesced: number;
      retried: number;
      ackExpired: number;
      rateLimited: number;
      closedOverflow: number;
      closedHeartbeat: number;
    };
  };
  "fleet.redis": {
    kind: "emptied" | "not-durable";
    code: string | null;
    message: string;
    node: string;
    at: string;
  };
  "webhooks.delivery": {
    id: string;
    endpointId: string;
    eventType: string;
    status: "pending" | "retrying" | "delivered" | "failed";
    attempts: number;
    lastStatus: number | null;
  };
  "webhooks.endpoint": {
    id: string;
    url: string;
    enabled: boolean;
    reason: string | null;
  };
  "sagas.changed": {
    id: string;
    type: string;
    state: "running" | "compensating" | "completed" | "compensated" | "cancelled" | "stuck";
  };
}
export type EventName = keyof EventTypes;

/** `POST /oauth/token`'s answer. */
export type TokenResponse = {
  /** A JWT (EdDSA, `kid` in its header): send it as `Authorization: Bearer <token>` */
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  /** Single use: each refresh returns a new one; using an old one ends the whole grant */
  refresh_token: string;
  /** The scope granted, space-separated: `role:<role>` and the key scopes */
  scope: string;
};
/** `POST /oauth/introspect`'s answer. */
export type Introspection = {
  active: boolean;
  token_type?: "access_token" | "refresh_token";
  scope?: string;
  client_id?: string;
  sub?: string;
  iss?: string;
  exp?: number;
  iat?: number;
  jti?: string;
};
