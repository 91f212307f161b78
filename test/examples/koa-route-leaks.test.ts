import { describeRouteLeaks } from 'tenantry/testing'
import { createApp } from '../../examples/koa/app.js'
import { exampleLeakOptions } from './example-routes.js'

describeRouteLeaks(exampleLeakOptions('Koa example', (tenancy) => createApp(tenancy).callback()))
