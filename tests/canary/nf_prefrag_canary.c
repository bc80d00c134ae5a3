// SPDX-License-Identifier: GPL-2.0
/*
 * A test-only module (never shipped) that commits one fault on request, so
 * that the test harness can show it notices each kind of kernel report:
 *
 *   insmod nf_prefrag_canary.ko fault=<name>
 *
 * lock-inversion	two mutexes taken in both orders (lockdep)
 * leak			an allocation nothing points to (kmemleak)
 * rcu			an RCU pointer read outside a read-side section
 *			(PROVE_RCU)
 * stall		a CPU that does not schedule for 30 s (soft lockup,
 *			RCU stall)
 * hung-task		a task asleep, uninterruptible, for 60 s (hung_task)
 * hang-at-poweroff	a reboot notifier that never returns: the guest hangs
 *			after its command finished
 *
 * none			nothing: the control, whose run must pass
 *
 * Each fault is real: nothing here fakes a report's text.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <linux/slab.h>

static char *fault = "";
module_param(fault, charp, 0444);
MODULE_PARM_DESC(fault, "the fault to commit at load time");

static DEFINE_MUTEX(canary_lock_a);
static DEFINE_MUTEX(canary_lock_b);

struct canary_item {
	int value;
};

static struct canary_item __rcu *canary_item;
static void *canary_leaked;

static void canary_lock_inversion(void)
{
	mutex_lock(&canary_lock_a);
	mutex_lock(&canary_lock_b);
	mutex_unlock(&canary_lock_b);
	mutex_unlock(&canary_lock_a);

	mutex_lock(&canary_lock_b);
	mutex_lock(&canary_lock_a);
	mutex_unlock(&canary_lock_a);
	mutex_unlock(&canary_lock_b);
}

static int canary_leak(void)
{
	/* Kept in a global until the pointer is overwritten below, so that the
	 * compiler cannot drop the allocation.
	 */
	canary_leaked = kmalloc(192, GFP_KERNEL);
	if (!canary_leaked)
		return -ENOMEM;
	WRITE_ONCE(canary_leaked, NULL);
	return 0;
}

static int canary_rcu(void)
{
	struct canary_item *item = kzalloc(sizeof(*item), GFP_KERNEL);

	if (!item)
		return -ENOMEM;
	rcu_assign_pointer(canary_item, item);
	pr_info("read %d outside rcu_read_lock()\n",
		rcu_dereference(canary_item)->value);
	RCU_INIT_POINTER(canary_item, NULL);
	synchronize_rcu();
	kfree(item);
	return 0;
}

static void canary_stall(void)
{
	preempt_disable();
	mdelay(30 * MSEC_PER_SEC);
	preempt_enable();
}

static int canary_sleeper(void *unused)
{
	set_current_state(TASK_UNINTERRUPTIBLE);
	schedule_timeout(60 * HZ);
	return 0;
}

static int canary_hung_task(void)
{
	struct task_struct *t = kthread_run(canary_sleeper, NULL, "canary-hung");

	return PTR_ERR_OR_ZERO(t);
}

static int canary_reboot(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	for (;;)
		msleep(1000);
	return NOTIFY_DONE;
}

static struct notifier_block canary_reboot_nb = {
	.notifier_call = canary_reboot,
};

static int __init canary_init(void)
{
	pr_info("fault %s\n", fault);
	if (!strcmp(fault, "none"))
		return 0;
	if (!strcmp(fault, "lock-inversion")) {
		canary_lock_inversion();
		return 0;
	}
	if (!strcmp(fault, "leak"))
		return canary_leak();
	if (!strcmp(fault, "rcu"))
		return canary_rcu();
	if (!strcmp(fault, "stall")) {
		canary_stall();
		return 0;
	}
	if (!strcmp(fault, "hung-task"))
		return canary_hung_task();
	if (!strcmp(fault, "hang-at-poweroff"))
		return register_reboot_notifier(&canary_reboot_nb);
	pr_err("unknown fault \"%s\"\n", fault);
	return -EINVAL;
}

static void __exit canary_exit(void)
{
	if (!strcmp(fault, "hang-at-poweroff"))
		unregister_reboot_notifier(&canary_reboot_nb);
}

module_init(canary_init);
module_exit(canary_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("nf-prefrag test harness canary: commits one kernel fault on request");
