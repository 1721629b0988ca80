import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { IsNull } from 'typeorm';
import { ApiKeyEntity } from '../entities/api-key.entity';
import { TenantEntity } from '../entities/tenant.entity';
import { badInput, notFound } from '../errors/domain-error';
import type { Principal, RoleName } from '../core/policy';
import { ROLE_RANK } from '../core/policy';

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** 32 random bytes: high entropy, so a single SHA-256 is a sound and cheap check. */
export const generateKey = (): string => `mk_${randomBytes(32).toString('base64url')}`;

const TENANT_SLUG = /^[A-Za-z0-9_.-]{1,64}$/;

export interface KeyRevokedListener {
  keyRevoked(apiKeyId: string): Promise<void>;
}

/** Authenticates the Bearer values that are attempt tokens (services/attempt-tokens.service.ts). */
export interface AttemptTokenAuthenticator {
  handles(raw: string): boolean;
  authenticate(raw: string): Promise<Principal | null>;
}

export class ApiKeyService {
  private readonly touched = new Map<string, number>();
  /** hash → principal for a few seconds; revocations evict at once (locally, and on every instance through the bus). */
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  static readonly CACHE_MAX = 10_000;

  constructor(
    private readonly ds: DataSource,
    private readonly revoked?: KeyRevokedListener,
    /** How long a checked key is trusted without asking Postgres again (0 = always ask). */
    private readonly cacheMs = 0,
    /** Attempt tokens take the same doors as keys (HTTP, REST, WebSocket): one parser for all. */
    private readonly attemptTokens?: AttemptTokenAuthenticator,
  ) {}

  async ensureTenant(slug: string): Promise<TenantEntity> {
    if (!TENANT_SLUG.test(slug)) throw badInput('tenant', 'must match [A-Za-z0-9_.-]{1,64}');
    await this.ds.query(`INSERT INTO tenants (slug) VALUES ($1) ON CONFLICT (slug) DO NOTHING`, [slug]);
    return this.ds.getRepository(TenantEntity).findOneByOrFail({ slug });
  }

  async create(
    tenantId: string,
    name: string,
    role: RoleName,
    key = generateKey(),
  ): Promise<{ apiKey: ApiKeyEntity; key: string }> {
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > 128) throw badInput('input.name', 'must be 1 to 128 characters');
    if (!(role in ROLE_RANK)) throw badInput('input.role', `unknown role ${role}`);
    const repo = this.ds.getRepository(ApiKeyEntity);
    const apiKey = await repo.save(
      repo.create({ tenantId, name: trimmed, role, keyHash: hashKey(key), keyPrefix: key.slice(0, 10) }),
    );
    return { apiKey, key };
  }

  /** Idempotent: makes sure `key` exists as an admin key of `tenantSlug`. */
  async ensureKey(tenantSlug: string, key: string, role: RoleName, name: string): Promise<void> {
    const tenant = await this.ensureTenant(tenantSlug);
    await this.ds.query(
      `INSERT INTO api_keys (tenant_id, name, role, key_hash, key_prefix) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL, role = EXCLUDED.role`,
      [tenant.id, name, role, hashKey(key), key.slice(0, 10)],
    );
  }

  /** One indexed look-up per request (or none within the cache time); a revoked or unknown key is null. */
  async authenticate(rawKey: string | undefined | null): Promise<Principal | null> {
    if (rawKey && this.attemptTokens?.handles(rawKey)) return this.attemptTokens.authenticate(rawKey);
    if (!rawKey || rawKey.length > 200) return null;
    const hash = hashKey(rawKey);
    const hit = this.cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.principal;
    const principal = await this.lookup(hash);
    if (principal && this.cacheMs > 0) {
      if (this.cache.size >= ApiKeyService.CACHE_MAX) this.cache.clear();
      this.cache.set(hash, { principal, until: Date.now() + this.cacheMs });
    } else this.cache.delete(hash);
    return principal;
  }

  /** Which of these key ids are not revoked (unknown ids are not returned). */
  async unrevoked(ids: string[]): Promise<Set<string>> {
    const rows = await this.ds.query<Array<{ id: string }>>(
      `SELECT id FROM api_keys WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL`,
      [ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Drop a revoked key from this process's cache. */
  forget(apiKeyId: string): void {
    for (const [hash, e] of this.cache) if (e.principal.apiKeyId === apiKeyId) this.cache.delete(hash);
  }

  private async lookup(hash: string): Promise<Principal | null> {
    const rows: Array<{ id: string; name: string; role: RoleName; tenant_id: string; slug: string }> =
      await this.ds.query(
        `SELECT k.id, k.name, k.role, k.tenant_id, t.slug FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
       WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
        [hash],
      );
    const row = rows[0];
    if (!row) return null;
    this.touch(row.id);
    return { tenantId: row.tenant_id, tenantSlug: row.slug, role: row.role, apiKeyId: row.id, apiKeyName: row.name };
  }

  /** last_used_at, written at most once a minute per key and never on the request's path. */
  private touch(id: string): void {
    const now = Date.now();
    if ((this.touched.get(id) ?? 0) > now - 60_000) return;
    this.touched.set(id, now);
    this.ds.query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1`, [id]).catch(() => undefined);
  }

  list(tenantId: string): Promise<ApiKeyEntity[]> {
    return this.ds.getRepository(ApiKeyEntity).find({ where: { tenantId }, order: { createdAt: 'ASC' } });
  }

  async listBySlug(slug: string): Promise<ApiKeyEntity[]> {
    const tenant = await this.ds.getRepository(TenantEntity).findOneBy({ slug });
    return tenant ? this.list(tenant.id) : [];
  }

  async revoke(tenantId: string | null, id: string): Promise<ApiKeyEntity> {
    const repo = this.ds.getRepository(ApiKeyEntity);
    const where = tenantId ? { id, tenantId } : { id };
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound(`API key ${id}`);
    await repo.update({ ...where, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    const key = await repo.findOneBy(where);
    if (!key) throw notFound(`API key ${id}`);
    this.forget(key.id);
    // After the write has committed: close its sockets on every API instance.
    await this.revoked?.keyRevoked(key.id);
    return key;
  }
}
