import { ApiKeyEntity } from './api-key.entity';
import { TenantEntity } from './tenant.entity';
import { WorkerEntity } from './worker.entity';

/** Every entity the DataSource knows (persistence only; GraphQL types live in src/schema). */
export const ENTITIES = [TenantEntity, ApiKeyEntity, WorkerEntity];
