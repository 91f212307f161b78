import { describeRouteLeaks } from 'tenantry/testing'
import { createApp } from '../../examples/express/app.js'
import { exampleLeakOptions } from './example-routes.js'

describeRouteLeaks(exampleLeakOptions('Express example', (tenancy) => createApp(tenancy)))
