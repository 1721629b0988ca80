import type { Principal } from '../core/policy';
import type { RequestServices } from '../services/request-services';

/**
 * Per-request DataLoaders, created lazily so a request pays only for the loaders it
 * uses. Each loader lives in its own file and is registered here.
 */
export class Loaders {
  private readonly cache = new Map<string, unknown>();

  constructor(
    readonly services: RequestServices,
    readonly principal: Principal | null,
  ) {}

  /** The loader named `name`, built once per request by `make`. */
  get<T>(name: string, make: (services: RequestServices, tenantId: string) => T): T {
    let loader = this.cache.get(name) as T | undefined;
    if (!loader) {
      if (!this.principal) throw new Error('loaders need an authenticated principal');
      loader = make(this.services, this.principal.tenantId);
      this.cache.set(name, loader);
    }
    return loader;
  }
}
