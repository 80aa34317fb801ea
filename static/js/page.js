// Pages without their own module: fill in the interface texts, nothing more.
import { applyI18n } from "./i18n.js";

applyI18n();
