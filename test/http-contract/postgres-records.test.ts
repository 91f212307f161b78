import { postgresRecords } from 'tenantry/postgres'
import { createApp as createExpressApp } from '../../examples/express/app.js'
import { createApp as createKoaApp } from '../../examples/koa/app.js'
import { notesStore } from '../support/notes-store.js'
import { usePostgresDatabase } from '../support/postgres.js'
import type { ContractStore } from './contract-store.js'
import { describeHostSignInContract } from './host-sign-in-contract.js'
import { describeHttpContract } from './http-contract.js'
import { describeMemberContract } from './member-contract.js'
import { describeTenantContextContract } from './tenant-context-contract.js'

// Every HTTP contract suite again, with tenantry's records on the local PostgreSQL (each test
// in a schema of its own) and the example apps' notes in memory.
const database = usePostgresDatabase()
const postgres: ContractStore = {
  name: 'PostgreSQL records',
  create: async () => {
    const records = postgresRecords({ pool: database.pool, schema: database.fresh() })
    await records.migrate()
    return { records, data: notesStore().data }
  },
}

describeHttpContract('Express', (tenancy) => createExpressApp(tenancy), postgres)
describeTenantContextContract('Express', (tenancy, options) => createExpressApp(tenancy, options), postgres)
describeMemberContract('Express', (tenancy) => createExpressApp(tenancy), postgres)
describeHostSignInContract('Express', (tenancy, options) => createExpressApp(tenancy, options), postgres)
describeHttpContract('Koa', (tenancy) => createKoaApp(tenancy).callback(), postgres)
describeTenantContextContract('Koa', (tenancy, options) => createKoaApp(tenancy, options).callback(), postgres)
describeMemberContract('Koa', (tenancy) => createKoaApp(tenancy).callback(), postgres)
describeHostSignInContract('Koa', (tenancy, options) => createKoaApp(tenancy, options).callback(), postgres)
