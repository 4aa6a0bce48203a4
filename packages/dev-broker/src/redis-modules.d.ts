// aedes-persistence-redis ships no types: what the dev broker uses of its promise-based class.
declare module "aedes-persistence-redis/asyncPersistence.js" {
  import type { Redis } from "ioredis";
  export default class AsyncRedisPersistence {
    constructor(options: { conn: Redis; maxSessionDelivery?: number });
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
  }
}
